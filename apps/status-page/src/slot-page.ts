// One chosen slot as a person reads it: its ballot, its commands, and each value decoded when it
// is a Monster Harmonic proposal (otherwise its first bytes in hex). Everything that came over
// the network is escaped before it reaches the page.
import { formatBallot, SESSION_IDS_MAX_DEFAULT } from '@paxos/consensus-core';
import { decodeProposalValue, isHarmonicContentType } from '@paxos/proposal';
import type { LogEntry } from '@paxos/proto';

/** Bytes of an opaque value shown in hex. */
const HEX_PREVIEW_BYTES = 256;
/** Commands of a slot rendered, and characters of one decoded value: a slot's page stays small. */
const COMMANDS_RENDERED_MAX = 64;
const DECODED_CHARS_MAX = 64 * 1024;
/** How many client request ids the sessions remember, as the page says it. */
const SESSION_IDS_MAX_TEXT = SESSION_IDS_MAX_DEFAULT.toLocaleString('en-US');

const capped = (text: string): string => (text.length > DECODED_CHARS_MAX ? `${text.slice(0, DECODED_CHARS_MAX)}\n... (${text.length - DECODED_CHARS_MAX} more characters)` : text);

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

const jsonText = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x), 2);

function decodedValue(contentType: string, data: Uint8Array): { proposal?: unknown; hex?: string; error?: string } {
  if (isHarmonicContentType(contentType)) {
    try {
      return { proposal: decodeProposalValue({ contentType, data }) };
    } catch (e) {
      return { error: (e as Error).message, hex: Buffer.from(data.subarray(0, HEX_PREVIEW_BYTES)).toString('hex') };
    }
  }
  return { hex: Buffer.from(data.subarray(0, HEX_PREVIEW_BYTES)).toString('hex') };
}

/** The slot as JSON (/api/slot/<n>). */
export function slotJson(e: LogEntry | undefined, from: string): unknown {
  if (!e) return {};
  const kind = e.value?.kind;
  return JSON.parse(
    jsonText({
      slot: e.slot,
      from,
      ballot: e.ballot ? formatBallot(e.ballot) : undefined,
      noop: kind?.$case !== 'batch',
      commands:
        kind?.$case === 'batch'
          ? kind.value.commands.map((c, i) => ({
              clientRequestId: c.clientRequestId,
              contentType: c.value?.contentType ?? '',
              bytes: c.value?.data.length ?? 0,
              claimsVerifiedBy: c.verifiedBy.length > 0 ? c.verifiedBy.slice(0, 64) : undefined,
              duplicateOf: e.outcomes[i]?.duplicate ? e.outcomes[i]?.firstSlot : undefined,
              // As ReadLog says it: this node no longer knows whether the copy took effect (never "took effect").
              forgotten: e.outcomes[i]?.forgotten ? true : undefined,
              ...decodedValue(c.value?.contentType ?? '', c.value?.data ?? new Uint8Array()),
            }))
          : [],
    }),
  );
}

export function renderSlotPage(slot: bigint, r: { entry?: LogEntry; from: string; problem?: string }): string {
  const head = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>slot ${slot}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;color:#1d2230;overflow-wrap:anywhere}pre{background:#f3f4f7;padding:1em;overflow:auto}h2{font-size:1em;margin-top:2em}.muted{color:#6b7080}</style></head><body>
<p><a href="/">&larr; the network</a></p><h1>slot ${slot}</h1>`;
  if (!r.entry) return `${head}<p>Not readable: ${escapeHtml(r.problem ?? 'no node answered')}</p></body></html>`;
  const e = r.entry;
  const kind = e.value?.kind;
  const parts = [head, `<p class="muted">chosen under ballot ${e.ballot ? escapeHtml(formatBallot(e.ballot)) : '(from a state snapshot)'}; read from ${escapeHtml(r.from)}</p>`];
  if (kind?.$case !== 'batch') parts.push('<p>A no-op: chosen to fill a slot no client value needed.</p>');
  else {
    if (kind.value.commands.length > COMMANDS_RENDERED_MAX) parts.push(`<p class="muted">${kind.value.commands.length} commands; the first ${COMMANDS_RENDERED_MAX} are shown (all of them: /api/slot/${slot})</p>`);
    kind.value.commands.slice(0, COMMANDS_RENDERED_MAX).forEach((c, i) => {
      const contentType = c.value?.contentType ?? '';
      const data = c.value?.data ?? new Uint8Array();
      const outcome = e.outcomes[i];
      const d = decodedValue(contentType, data);
      parts.push(`<h2>command ${i}: ${escapeHtml(c.clientRequestId)}</h2>`);
      const effect = outcome?.duplicate
        ? `; a duplicate: this client_request_id took effect in slot <a href="/slot/${outcome.firstSlot}">${outcome.firstSlot}</a>`
        : outcome?.forgotten
          ? `; its client_request_id is forgotten on ${escapeHtml(r.from)} (the last ${SESSION_IDS_MAX_TEXT} ids are remembered): whether this copy took effect or was a duplicate is not known there`
          : '';
      parts.push(`<p class="muted">${escapeHtml(contentType || '(no content type)')}, ${data.length} bytes${effect}</p>`);
      if (d.error) parts.push(`<p>Does not decode: ${escapeHtml(d.error)}</p>`);
      if (d.proposal !== undefined) parts.push(`<pre>${escapeHtml(capped(jsonText(d.proposal)))}</pre>`);
      else if (d.hex !== undefined) parts.push(`<pre>${escapeHtml(d.hex)}${data.length > HEX_PREVIEW_BYTES ? ' ...' : ''}</pre>`);
    });
  }
  parts.push('</body></html>');
  return parts.join('\n');
}
