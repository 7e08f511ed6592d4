import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { type ComponentType, lazy, StrictMode, Suspense } from 'react';
import { createRoot } from 'react-dom/client';
import { Redirect, Route, Switch } from 'wouter';
import { ApiError } from './api';
import { NavigationGuard } from './components/guard';
import { Layout } from './components/layout';
import { Loading } from './components/ui';
import { Dashboard } from './pages/dashboard';
import { SignIn } from './pages/sign-in';
import { SessionGate } from './session';
import './styles.css';

/**
 * A page loaded when first opened: the first load carries sign-in and the dashboard only, and
 * each other page is its own chunk (docs/console.md, benchmarks/console).
 */
function page<M, K extends keyof M>(load: () => Promise<M>, name: K) {
  return lazy(async () => ({ default: (await load())[name] as ComponentType }));
}
const Alerts = page(() => import('./pages/alerts'), 'Alerts');
const Events = page(() => import('./pages/events'), 'Events');
const Computers = page(() => import('./pages/computers'), 'Computers');
const ComputerEditor = page(() => import('./pages/computer-editor'), 'ComputerEditor');
const Policies = page(() => import('./pages/policies'), 'Policies');
const PolicyEditor = page(() => import('./pages/policy-editor'), 'PolicyEditor');
const FirewallRules = page(() => import('./pages/firewall-rules'), 'FirewallRules');
const FirewallRuleEditor = page(() => import('./pages/firewall-rules'), 'FirewallRuleEditor');
const FirewallLists = page(() => import('./pages/firewall-lists'), 'FirewallLists');
const FirewallListEditor = page(() => import('./pages/firewall-lists'), 'FirewallListEditor');
const Administration = page(() => import('./pages/administration'), 'Administration');

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
            <Suspense fallback={<Loading />}>
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
            </Suspense>
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
