import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { Redirect, Route, Switch } from 'wouter';
import { ApiError } from './api';
import { NavigationGuard } from './components/guard';
import { Layout } from './components/layout';
import { Administration } from './pages/administration';
import { Alerts } from './pages/alerts';
import { ComputerEditor } from './pages/computer-editor';
import { Computers } from './pages/computers';
import { Dashboard } from './pages/dashboard';
import { Events } from './pages/events';
import { FirewallListEditor, FirewallLists } from './pages/firewall-lists';
import { FirewallRuleEditor, FirewallRules } from './pages/firewall-rules';
import { Policies } from './pages/policies';
import { PolicyEditor } from './pages/policy-editor';
import { SignIn } from './pages/sign-in';
import { SessionGate } from './session';
import './styles.css';

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // Editors must not be reset under the user's hands by a background refetch.
      refetchOnWindowFocus: false,
      staleTime: 5_000,
      retry: (n, e) => !(e instanceof ApiError && e.status < 500) && n < 2,
    },
  },
});

function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <SessionGate signIn={<SignIn />}>
        <NavigationGuard>
          <Layout>
            <Switch>
              <Route path="/">
                <Redirect to="/dashboard" />
              </Route>
              <Route path="/dashboard" component={Dashboard} />
              <Route path="/alerts" component={Alerts} />
              <Route path="/events" component={Events} />
              <Route path="/computers" component={Computers} />
              <Route path="/computers/:id/:section?" component={ComputerEditor} />
              <Route path="/policies" component={Policies} />
              <Route path="/policies/:id/:section?" component={PolicyEditor} />
              <Route path="/firewall-rules" component={FirewallRules} />
              <Route path="/firewall-rules/:id" component={FirewallRuleEditor} />
              <Route path="/lists/:kind" component={FirewallLists} />
              <Route path="/lists/:kind/:id" component={FirewallListEditor} />
              <Route path="/administration/:section?" component={Administration} />
              <Route>
                <div className="page">
                  <h1>Page not found</h1>
                </div>
              </Route>
            </Switch>
          </Layout>
        </NavigationGuard>
      </SessionGate>
    </QueryClientProvider>
  );
}

const root = document.getElementById('root');
if (root)
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
