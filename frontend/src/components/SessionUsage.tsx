/**
 * A session's telemetry: a compact summary for the sessions list and a fuller
 * strip for the open session's header. Both render nothing until the agent
 * reported usage (plain shells never do).
 */
import type { ContextUsage, CostSource, ModelUsage, SessionUsage } from '../protocol/generated/protocol';
import { relativeTimeMs } from '../lists';
import { useNow } from './common';
import {
  COST_NOTE,
  contextLevel,
  contextPercent,
  costDisplay,
  formatContext,
  formatCount,
  formatDuration,
  formatPercent,
  formatTokenSummary,
  formatTokens,
  formatUsd,
  modelLabel,
  modelNames,
  totalTokens,
} from '../usage';

/**
 * The cost, with the models it leaves out; `unpriced` when none has a price.
 * `compact` names the left-out models only in the tooltip.
 */
function Cost({ usage, compact = false }: { usage: SessionUsage; compact?: boolean }) {
  const cost = costDisplay(usage);
  const missing = cost.unpriced.join(', ');
  return (
    <span
      className={`usage-cost cost-${cost.kind}`}
      data-testid="usage-cost"
      data-cost-nano-usd={usage.costNanoUsd}
      data-cost-kind={cost.kind}
      title={missing ? `${COST_NOTE}\nNo price for: ${missing}` : COST_NOTE}
    >
      <span className="cost-value">{cost.text}</span>
      {cost.kind === 'partial' && <span className="cost-unpriced"> + unpriced{compact ? '' : `: ${missing}`}</span>}
    </span>
  );
}

function Tokens({ usage }: { usage: SessionUsage }) {
  const total = totalTokens(usage.tokens);
  return (
    <span
      className="usage-tokens"
      data-testid="usage-tokens"
      data-total-tokens={total}
      title={`${formatCount(total)} tokens: ${formatCount(usage.tokens.input)} input, ${formatCount(usage.tokens.output)} output, ${formatCount(usage.tokens.cacheRead)} cache read, ${formatCount(usage.tokens.cacheWrite)} cache write, ${formatCount(usage.tokens.reasoning)} reasoning, ${formatCount(usage.tokens.tool)} tool, ${formatCount(usage.tokens.other)} other`}
    >
      {formatTokenSummary(usage.tokens)}
    </span>
  );
}

/**
 * How full the context window is. Without a known window there is no bar:
 * `compact` renders nothing, otherwise the used tokens and "window unknown".
 */
export function ContextBar({ context, compact = false }: { context: ContextUsage; compact?: boolean }) {
  const pct = contextPercent(context);
  const title = `Context window${context.model ? ` of ${modelLabel(context.model)}` : ''}: ${formatContext(context)}`;
  if (pct === null) {
    if (compact) return null;
    return (
      <span className="context-bar unknown" data-testid="context-bar" data-window="unknown" title={title}>
        <span className="context-label">{formatContext(context)}</span>
      </span>
    );
  }
  const level = contextLevel(pct);
  return (
    <span
      className={`context-bar level-${level} ${compact ? 'compact' : ''}`}
      data-testid="context-bar"
      data-percent={pct.toFixed(1)}
      role="meter"
      aria-label="Context window used"
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={Math.min(100, Math.round(pct))}
      aria-valuetext={formatContext(context)}
      title={title}
    >
      <span className="context-track" aria-hidden="true">
        <span className="context-fill" style={{ width: `${Math.min(100, pct)}%` }} />
      </span>
      <span className="context-label">{compact ? formatPercent(pct) : formatContext(context)}</span>
    </span>
  );
}

function ActivityLabel({ usage, now }: { usage: SessionUsage; now: number }) {
  const a = usage.activity;
  if (!a) return null;
  return (
    <span className="usage-activity" data-testid="usage-activity" title={new Date(a.atUnixMs).toLocaleString()}>
      <span className="activity-name">{a.name}</span> <span className="muted">{relativeTimeMs(a.atUnixMs, now)}</span>
    </span>
  );
}

/** The session list's usage lines: cost and tokens, then context and the latest activity. */
export function SessionUsageSummary({ sessionId, usage, now }: { sessionId: string; usage: SessionUsage; now: number }) {
  const hasSecondLine = (usage.context && contextPercent(usage.context) !== null) || usage.activity;
  return (
    <div className="session-usage small" data-testid={`session-usage-${sessionId}`} title={modelNames(usage).join(', ')}>
      <div className="usage-line">
        <Cost usage={usage} compact />
        <Tokens usage={usage} />
      </div>
      {hasSecondLine && (
        <div className="usage-line">
          {usage.context && <ContextBar context={usage.context} compact />}
          <ActivityLabel usage={usage} now={now} />
        </div>
      )}
    </div>
  );
}

const SOURCE_LABEL: Record<CostSource, string> = {
  reported: 'agent estimate',
  priced: 'price table',
  unpriced: 'unpriced',
};

function ModelRow({ m }: { m: ModelUsage }) {
  return (
    <tr data-testid="usage-model-row">
      <td className="mono">{modelLabel(m.model)}</td>
      <td className="num">{formatTokens(totalTokens(m.tokens))}</td>
      <td className="muted">{formatTokenSummary(m.tokens)}</td>
      <td className="num">{m.costNanoUsd === null || m.costSource === 'unpriced' ? 'unpriced' : formatUsd(m.costNanoUsd)}</td>
      <td className="muted">{SOURCE_LABEL[m.costSource] ?? m.costSource}</td>
    </tr>
  );
}

/** The open session's usage strip: every figure, with a per-model breakdown on demand. */
export function SessionUsageDetail({ sessionId, usage }: { sessionId: string; usage: SessionUsage }) {
  const now = useNow(5000);
  const names = modelNames(usage);
  const models = usage.models ?? [];
  return (
    <div className="usage-strip small" data-testid={`session-usage-detail-${sessionId}`}>
      <span className="usage-item">
        <span className="usage-caption keep">API-equivalent cost</span>
        <Cost usage={usage} />
      </span>
      <span className="usage-item">
        <span className="usage-caption">Tokens</span>
        <span className="usage-total">{formatTokens(totalTokens(usage.tokens))}</span>
        <Tokens usage={usage} />
      </span>
      {names.length > 0 && (
        <details className="usage-item usage-models hide-narrow" data-testid="usage-models">
          <summary title="Per-model breakdown">
            <span className="usage-caption">{names.length === 1 ? 'Model' : `Models (${names.length})`}</span>
            <span className="mono model-names">{names.join(', ')}</span>
          </summary>
          <div className="models-pop">
            <table className="data-table">
              <thead>
                <tr>
                  <th>Model</th>
                  <th className="num">Tokens</th>
                  <th>By type</th>
                  <th className="num">Cost</th>
                  <th>Source</th>
                </tr>
              </thead>
              <tbody>
                {models.map((m) => (
                  <ModelRow key={m.model} m={m} />
                ))}
              </tbody>
            </table>
            <p className="muted">{COST_NOTE}</p>
          </div>
        </details>
      )}
      {usage.context && (
        <span className="usage-item usage-context">
          <span className="usage-caption">Context</span>
          <ContextBar context={usage.context} />
        </span>
      )}
      {usage.activity && (
        <span className="usage-item">
          <span className="usage-caption">Activity</span>
          <ActivityLabel usage={usage} now={now} />
        </span>
      )}
      <span className="usage-item" title={`${formatCount(usage.requests)} telemetry reports received`}>
        <span className="usage-caption">Active</span>
        <span data-testid="usage-active-time" data-active-ms={usage.activeMs}>
          {formatDuration(usage.activeMs)}
        </span>
      </span>
    </div>
  );
}
