/** Hash routing: `#/session/<id>` opens a terminal, anything else is the overview. */
import { useEffect, useState } from 'react';

export type Route = { view: 'overview' } | { view: 'session'; sessionId: string };

export function parseHash(hash: string): Route {
  const m = /^#\/session\/([0-9a-fA-F-]{1,64})$/.exec(hash);
  return m && m[1] ? { view: 'session', sessionId: m[1].toLowerCase() } : { view: 'overview' };
}

export function openSession(id: string): void {
  window.location.hash = `#/session/${id}`;
}

export function openOverview(): void {
  if (window.location.hash) window.location.hash = '';
}

export function useRoute(): Route {
  const [route, setRoute] = useState<Route>(() => parseHash(window.location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(window.location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
