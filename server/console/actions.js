// Commands the pages issue (care_record.proto), and the referral actions
// shared by the case page and the referral inbox.

import * as api from './api.js';
import { h, clear, errorAlert, successAlert, newCommandId, badge, input } from './dom.js';

// Sends one care-record command: `body` gets a new command_id. While it runs
// the `busy` elements are disabled; a refusal is shown in `resultEl` with the
// server's message verbatim. Returns the CommandResult, or null when refused.
export async function runCommand(service, method, body, resultEl, { busy = [], success } = {}) {
  if (resultEl) clear(resultEl);
  for (const el of busy) el.disabled = true;
  try {
    const result = await api.call(service, method, { command_id: newCommandId(), ...body });
    if (resultEl && success) resultEl.append(successAlert(success));
    return result;
  } catch (err) {
    if (resultEl) resultEl.append(errorAlert(err));
    return null;
  } finally {
    for (const el of busy) el.disabled = false;
  }
}

const STATUS_TONES = {
  requested: 'warning', received: 'info', accepted: 'primary', 'in-progress': 'primary',
  'on-hold': 'warning', completed: 'success', declined: 'danger', failed: 'danger',
  cancelled: 'secondary',
};

export function referralStatusBadge(status) {
  const el = badge(status || 'unknown', STATUS_TONES[status] || 'secondary');
  el.classList.add('referral-status');
  el.dataset.status = status || '';
  return el;
}

const CLOSED = new Set(['declined', 'completed', 'failed', 'cancelled']);

export function referralIsOpen(referral) {
  return !CLOSED.has(referral.status);
}

// The buttons the signed-in organisation may use on a referral (docs/access.md
// "The command's own rule": the receiver answers, starts and completes it;
// the sender or receiver cancels it). `done(result)` runs after a command
// was accepted. Returns null when there is nothing to offer.
export function referralActions(referral, clientId, session, done) {
  const me = session.organization_id;
  const isReceiver = referral.to_organization_id === me;
  const isSender = referral.from_organization_id === me;
  const status = referral.status;
  if (!referralIsOpen(referral) || (!isReceiver && !isSender)) return null;
  const id = referral.referral_id;
  const key = `${clientId}/${id}`;
  const result = h('div.referral-result', { 'aria-live': 'polite' });
  const reason = input({
    class: 'form-control-sm referral-reason', placeholder: 'reason',
    'aria-label': `Reason for declining or cancelling referral ${id} of client ${clientId}`,
    dataset: { focusKey: `${key}/reason` },
  });
  const buttons = [];
  const act = (label, method, field, extra, tone, needsReason) => {
    const btn = h('button.btn.btn-sm', {
      type: 'button', class: `btn-${tone}`, text: label,
      'aria-label': `${label} referral ${id} of client ${clientId}`,
      dataset: { action: method, focusKey: `${key}/${method}` },
    });
    btn.addEventListener('click', async () => {
      const payload = { referral_id: id, ...extra() };
      if (needsReason) {
        if (!reason.value.trim()) {
          clear(result);
          result.append(errorAlert({ code: 'INVALID_ARGUMENT', message: `give a reason to ${label.toLowerCase()} referral ${id}` }));
          reason.focus();
          return;
        }
        payload.reason = reason.value.trim();
      }
      const r = await runCommand('Referrals', method, { client_id: clientId, [field]: payload }, result,
                                 { busy: buttons });
      if (r) done(r);
    });
    buttons.push(btn);
    return btn;
  };
  const none = () => ({});
  const controls = [];
  let withReason = false;
  if (isReceiver) {
    if (status === 'requested') controls.push(act('Acknowledge', 'AcknowledgeReferral', 'referral_received', none, 'outline-secondary'));
    if (status === 'requested' || status === 'received' || status === 'on-hold') {
      controls.push(act('Accept', 'AcceptReferral', 'referral_accepted', none, 'success'));
      controls.push(act('Decline', 'DeclineReferral', 'referral_declined', none, 'outline-danger', true));
      withReason = true;
    }
    if (status === 'accepted' || status === 'on-hold') controls.push(act('Start', 'StartReferral', 'referral_started', none, 'primary'));
    if (status === 'accepted' || status === 'in-progress') {
      controls.push(act('Complete', 'CompleteReferral', 'referral_completed',
                        () => ({ delivered: reason.value.trim() }), 'outline-success'));
    }
  }
  if (isSender && !isReceiver) {
    controls.push(act('Cancel', 'CancelReferral', 'referral_cancelled', none, 'outline-secondary', true));
    withReason = true;
  }
  if (!controls.length) return null;
  if (!withReason && (status === 'accepted' || status === 'in-progress')) {
    reason.placeholder = 'what was delivered';
    reason.setAttribute('aria-label', `What was delivered for referral ${id} of client ${clientId}`);
  }
  const showReason = withReason || status === 'accepted' || status === 'in-progress';
  return h('div.referral-actions', { dataset: { referral: id } },
           h('div.d-flex.flex-wrap.gap-1.align-items-center', showReason ? reason : null, controls),
           result);
}
