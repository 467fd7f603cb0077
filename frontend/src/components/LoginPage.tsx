import { useState, type FormEvent } from 'react';
import type { Me } from '../protocol/generated/protocol';
import { ApiError, api, errorMessage } from '../api';

export function LoginPage({ notice, onLoggedIn }: { notice?: string | undefined; onLoggedIn: (me: Me) => void }) {
  const [username, setUsername] = useState('admin');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onLoggedIn(await api.login({ username, password }));
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 401 && !err.message
          ? 'Wrong user name or password.'
          : errorMessage(err),
      );
      setBusy(false);
    }
  }

  return (
    <div className="login-page">
      <form className="card login-card" onSubmit={(e) => void submit(e)} data-testid="login-form">
        <div className="login-brand">
          <span className="brand-mark" aria-hidden="true" />
          <h1>Flotilla</h1>
        </div>
        <p className="muted">Sign in to control your agents.</p>
        {notice && <p className="notice">{notice}</p>}
        <label className="field">
          <span>User name</span>
          <input
            name="username"
            autoComplete="username"
            value={username}
            onChange={(e) => setUsername(e.target.value)}
            required
            data-testid="login-username"
          />
        </label>
        <label className="field">
          <span>Password</span>
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
            autoFocus
            data-testid="login-password"
          />
        </label>
        {error && (
          <p className="form-error" role="alert" data-testid="login-error">
            {error}
          </p>
        )}
        <button className="btn primary wide" type="submit" disabled={busy} data-testid="login-submit">
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </div>
  );
}
