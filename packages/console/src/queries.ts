import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { del, type FirewallList, type FirewallListKind, get, type Policy, type SettingDefinition } from './api';

/**
 * A list page's selected row and its Delete (Policies, Firewall Rules, IP/MAC/Port Lists): `chosen`
 * is the selected row of `rows`; `remove` sends `DELETE path/ID`, then clears the selection and
 * refetches `queryKey`.
 */
export function useListSelection<T extends { ID: number }>(
  rows: readonly T[] | undefined,
  path: string,
  queryKey: readonly unknown[],
) {
  const qc = useQueryClient();
  const [selected, setSelected] = useState<number | null>(null);
  const remove = useMutation({
    mutationFn: (id: number) => del(`${path}/${id}`),
    onSuccess: async () => {
      setSelected(null);
      await qc.invalidateQueries({ queryKey });
    },
  });
  return { selected, setSelected, chosen: rows?.find((r) => r.ID === selected), remove };
}

export function useCatalog() {
  return useQuery({
    queryKey: ['settings-catalog'],
    queryFn: async () => (await get<{ settings: SettingDefinition[] }>('/api/settings')).settings,
    staleTime: Number.POSITIVE_INFINITY,
  });
}

export function usePolicies() {
  return useQuery({
    queryKey: ['policies'],
    queryFn: async () => (await get<{ policies: Policy[] }>('/api/policies')).policies,
  });
}

/** Policy name by ID, `#ID` while unknown. */
export function usePolicyName(): (id: number) => string {
  const { data } = usePolicies();
  return (id) => data?.find((p) => p.ID === id)?.name ?? `policy #${id}`;
}

export const LIST_ROUTES: Record<FirewallListKind, [string, string]> = {
  ip: ['/api/iplists', 'ipLists'],
  mac: ['/api/maclists', 'macLists'],
  port: ['/api/portlists', 'portLists'],
};

/** The IP, MAC or port lists a rule may name. */
export function useFirewallLists(kind: FirewallListKind) {
  return useQuery({
    queryKey: ['firewall-lists', kind],
    queryFn: async () => {
      const [path, envelope] = LIST_ROUTES[kind];
      return (await get<Record<string, FirewallList[]>>(path))[envelope] ?? [];
    },
    // Fetched again whenever a page that names lists opens: a list made a moment ago (through the
    // API) must show by name, not as its ID.
    staleTime: 0,
  });
}

/** A list's name by kind and ID for the rule tables; `#ID` while unknown. */
export function useListName(): (kind: FirewallListKind, id: unknown) => string {
  const ip = useFirewallLists('ip').data;
  const mac = useFirewallLists('mac').data;
  const port = useFirewallLists('port').data;
  const all = { ip, mac, port };
  return (kind, id) => all[kind]?.find((l) => l.ID === id)?.name ?? `#${String(id)}`;
}
