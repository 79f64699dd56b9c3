import { useMutation, useQueryClient } from '@tanstack/react-query';
import { post } from '../api/client.js';
import { SESSION_KEY } from '../session/use-session.js';

/** The API answers the same whether or not the email has an account. */
export function useRequestPasswordReset() {
  return useMutation({ mutationFn: (email: string) => post<null>('/password-reset', { email }) });
}

/** Every session ends, this browser's too: the session cache goes with them. */
export function useConfirmPasswordReset() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (reset: { token: string; newPassword: string }) => post<null>('/password-reset/confirm', reset),
    onSuccess: () => {
      client.clear();
      client.setQueryData(SESSION_KEY, null);
    },
  });
}

export function useVerifyEmail() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (token: string) => post<null>('/me/email/verify', { token }),
    onSuccess: () => client.invalidateQueries({ queryKey: SESSION_KEY }),
  });
}

/** The token of a mailed link rides in the fragment (#token=...), which the browser never sends anywhere. */
export function tokenInFragment(hash: string): string {
  return new URLSearchParams(hash.replace(/^#/, '')).get('token') ?? '';
}
