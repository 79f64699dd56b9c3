import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { ApiError } from '../api/api-error.js';
import { del, get, post, rememberCsrfToken } from '../api/client.js';
import type { Authenticated, TwoFactorChallenge } from '../api/types.js';

export const SESSION_KEY = ['session'] as const;

/** The logged-in account, or null when nobody is (a 401 is an answer here, not an error). */
export function useSession() {
  return useQuery({
    queryKey: SESSION_KEY,
    queryFn: async () => {
      try {
        const me = await get<Authenticated>('/me');
        rememberCsrfToken(me.csrfToken);
        return me;
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) return null;
        throw error;
      }
    },
    staleTime: 60_000,
  });
}

export interface Credentials {
  email: string;
  password: string;
}

/** Log in ("login") or sign up ("signup"): a session, or for two-factor accounts a challenge that useFinishLogIn completes. */
export function useAuthenticate(mode: 'login' | 'signup') {
  const start = useStartSession();
  return useMutation({
    mutationFn: (credentials: Credentials) => post<Authenticated | TwoFactorChallenge>(mode === 'login' ? '/sessions' : '/accounts', credentials),
    onSuccess: (answer) => {
      if ('account' in answer) start(answer);
    },
  });
}

/** The second step of a two-factor log-in: the challenge and a code of the app (or a recovery code). */
export function useFinishLogIn() {
  const start = useStartSession();
  return useMutation({
    mutationFn: (step: { challenge: string; code: string }) => post<Authenticated>('/sessions/two-factor', step),
    onSuccess: start,
  });
}

function useStartSession() {
  const client = useQueryClient();
  return (me: Authenticated) => {
    rememberCsrfToken(me.csrfToken);
    // Whatever was cached belonged to whoever was here before.
    client.clear();
    client.setQueryData(SESSION_KEY, me);
  };
}

export function useLogOut() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => del<null>('/sessions/current'),
    onSettled: () => {
      rememberCsrfToken(null);
      client.clear();
      client.setQueryData(SESSION_KEY, null);
    },
  });
}
