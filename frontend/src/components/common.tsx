import { useEffect, useState } from 'react';
import type { HostSummary, ProfileInfo } from '../protocol/generated/protocol';

/** The current time, re-read every `ms` so relative times stay fresh. */
export function useNow(ms = 15_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

const FALLBACK_COLORS = ['#58a6ff', '#3fb950', '#d29922', '#bc8cff', '#f778ba', '#39c5cf', '#ff7b72'];

/** A stable colour for a profile the host did not describe. */
export function fallbackColor(name: string): string {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) | 0;
  return FALLBACK_COLORS[Math.abs(h) % FALLBACK_COLORS.length] ?? '#58a6ff';
}

/** Only colours that look like CSS colour literals reach a style attribute. */
function safeColor(c: string | undefined, name: string): string {
  if (c && /^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20}|(rgb|hsl)a?\([0-9.,%\s/]+\))$/.test(c.trim())) return c.trim();
  return fallbackColor(name);
}

export function findProfile(host: HostSummary | undefined, name: string): ProfileInfo | undefined {
  return host?.inventory?.profiles.find((p) => p.name === name);
}

export function ProfileChip({ name, profile }: { name: string; profile?: ProfileInfo | undefined }) {
  const color = safeColor(profile?.color, name);
  return (
    <span className="chip" style={{ ['--chip' as string]: color }} title={profile?.name ?? name} data-testid="profile-chip">
      {profile?.displayName || name}
    </span>
  );
}

/** Copies text, falling back to a hidden textarea where the Clipboard API is unavailable (plain http). */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // Fall through to the legacy path.
  }
  const ta = document.createElement('textarea');
  ta.value = text;
  ta.setAttribute('readonly', '');
  ta.style.position = 'fixed';
  ta.style.opacity = '0';
  document.body.appendChild(ta);
  ta.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  ta.remove();
  return ok;
}

export function CopyButton({ text, label = 'Copy', testId }: { text: string; label?: string; testId?: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  useEffect(() => {
    if (state === 'idle') return;
    const t = setTimeout(() => setState('idle'), 2000);
    return () => clearTimeout(t);
  }, [state]);
  return (
    <button
      type="button"
      className="btn small"
      onClick={() => void copyText(text).then((ok) => setState(ok ? 'copied' : 'failed'))}
      data-testid={testId}
    >
      {state === 'copied' ? 'Copied' : state === 'failed' ? 'Select and copy' : label}
    </button>
  );
}
