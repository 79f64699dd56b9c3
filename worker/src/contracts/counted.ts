/** "1 server", "3 servers": messages (quotas, job results) are read by people, who notice "1 servers". */
export const counted = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
