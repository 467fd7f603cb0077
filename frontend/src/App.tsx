import { useCallback, useEffect, useState } from 'react';
import type { Me } from './protocol/generated/protocol';
import { ApiError, api, errorMessage } from './api';
import { LoginPage } from './components/LoginPage';
import { MainView } from './components/MainView';
import { store } from './store';

type Auth =
  | { kind: 'loading' }
  | { kind: 'anon'; notice?: string }
  | { kind: 'unreachable'; message: string }
  | { kind: 'user'; me: Me };

export function App() {
  const [auth, setAuth] = useState<Auth>({ kind: 'loading' });

  const check = useCallback(async () => {
    try {
      const me = await api.me();
      setAuth({ kind: 'user', me });
    } catch (e) {
      if (e instanceof ApiError && (e.status === 401 || e.status === 403)) setAuth({ kind: 'anon' });
      else setAuth({ kind: 'unreachable', message: errorMessage(e) });
    }
  }, []);

  useEffect(() => {
    void check();
  }, [check]);

  const onLoggedOut = useCallback((notice?: string) => {
    store.reset();
    setAuth({ kind: 'anon', notice });
  }, []);

  switch (auth.kind) {
    case 'loading':
      return (
        <div className="splash" data-testid="loading">
          <span className="brand-mark" aria-hidden="true" /> Loading…
        </div>
      );
    case 'unreachable':
      return (
        <div className="splash" role="alert">
          <div className="card narrow">
            <h1>Cannot reach the hub</h1>
            <p className="muted">{auth.message}</p>
            <button className="btn primary" onClick={() => void check()}>
              Retry
            </button>
          </div>
        </div>
      );
    case 'anon':
      return <LoginPage notice={auth.notice} onLoggedIn={(me) => setAuth({ kind: 'user', me })} />;
    case 'user':
      return <MainView me={auth.me} onLoggedOut={onLoggedOut} />;
  }
}
