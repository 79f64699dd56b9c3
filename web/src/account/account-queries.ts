import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { del, get, post } from '../api/client.js';
import type { ApiToken, Page } from '../api/types.js';

const TOKENS_KEY = ['tokens'] as const;

export interface PasswordChange {
  currentPassword: string;
  newPassword: string;
}

/** The API keeps this session and logs out every other one. */
export function useChangePassword() {
  return useMutation({ mutationFn: (change: PasswordChange) => post<null>('/me/password', change) });
}

/** Another verification link to the account's email (limited a few an hour). */
export function useResendVerification() {
  return useMutation({ mutationFn: () => post<null>('/me/email/verification-mail') });
}

export function useTokens() {
  return useQuery({ queryKey: TOKENS_KEY, queryFn: () => get<Page<ApiToken>>('/tokens?limit=100') });
}

export interface NewToken {
  name: string;
  /** Left out: the token never expires. */
  expiresInDays?: number;
}

/** The secret is in this answer only; it stays in the mutation's memory, never in the token list. */
export function useCreateToken() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (token: NewToken) => post<{ token: ApiToken; secret: string }>('/tokens', token),
    onSuccess: () => client.invalidateQueries({ queryKey: TOKENS_KEY }),
  });
}

export function useRevokeToken() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => del<null>(`/tokens/${id}`),
    onSuccess: () => client.invalidateQueries({ queryKey: TOKENS_KEY }),
  });
}
