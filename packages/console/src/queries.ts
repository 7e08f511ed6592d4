import { useQuery } from '@tanstack/react-query';
import { get, type Policy, type SettingDefinition } from './api';

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
