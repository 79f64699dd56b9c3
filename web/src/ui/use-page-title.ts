import { useEffect } from 'react';

/** Names the page in the tab and for screen readers, which announce the title on navigation. */
export function usePageTitle(title: string): void {
  useEffect(() => {
    document.title = `${title} · Parley`;
  }, [title]);
}
