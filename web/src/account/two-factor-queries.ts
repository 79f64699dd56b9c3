import { useMutation, useQueryClient } from '@tanstack/react-query';
import { post } from '../api/client.js';
import { SESSION_KEY } from '../session/use-session.js';

export function useStartEnrolment() {
  return useMutation({ mutationFn: (password: string) => post<{ secret: string; otpauthUri: string }>('/me/two-factor/enrolment', { password }) });
}

/** On success the recovery codes are in this answer only; the account re-reads as two-factor on. */
export function useConfirmEnrolment() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (code: string) => post<{ recoveryCodes: string[] }>('/me/two-factor/enrolment/confirm', { code }),
    onSuccess: () => client.invalidateQueries({ queryKey: SESSION_KEY }),
  });
}

export function useDisableTwoFactor() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (input: { password: string; code: string }) => post<null>('/me/two-factor/disable', input),
    onSuccess: () => client.invalidateQueries({ queryKey: SESSION_KEY }),
  });
}
