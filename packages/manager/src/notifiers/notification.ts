import { ALERT_TYPES } from '@palisade/core';
import type { FeedPosition } from '../store/feed-position.js';
import type { AlertAction, AlertRecord, PendingAlertNotification, PendingEvent } from '../store/store.js';

/** An alert as the API and the notifiers show it (Deep Security-style `ID` names). */
export function alertView(a: AlertRecord) {
  return {
    ID: a.id,
    type: a.type,
    name: ALERT_TYPES[a.type].label,
    severity: a.severity,
    computerID: a.computerId,
    hostName: a.hostName,
    subject: a.subject === '' ? null : a.subject,
    message: a.message,
    data: a.data,
    raisedAt: a.raisedAt,
    clearedAt: a.clearedAt,
    dismissedAt: a.dismissedAt,
    dismissedBy: a.dismissedBy,
    active: a.clearedAt === null && a.dismissedAt === null,
  };
}

/** An agent event as the API and the notifiers show it. */
export function eventView(e: PendingEvent) {
  return {
    ID: e.cursor,
    computerID: e.computerId,
    hostName: e.hostName,
    epoch: e.epoch === '' ? null : e.epoch,
    seq: e.seq,
    type: e.type,
    severity: e.severity,
    message: e.message,
    agentTime: e.agentTime,
    receivedAt: e.receivedAt,
    data: e.data,
  };
}

/**
 * One thing a notifier delivers: an alert raised, cleared or dismissed, or an agent event.
 * `id` is stable across retries, so a receiver can drop the duplicates that at-least-once
 * delivery may bring after a crash.
 */
export type Notification =
  | {
      kind: 'alert';
      id: string;
      position: FeedPosition;
      time: number;
      severity: string;
      action: AlertAction;
      alert: ReturnType<typeof alertView>;
    }
  | {
      kind: 'event';
      id: string;
      position: FeedPosition;
      time: number;
      severity: string;
      event: ReturnType<typeof eventView>;
    };

export function alertNotification(n: PendingAlertNotification): Notification {
  return {
    kind: 'alert',
    id: `alert:${n.alert.id}:${n.action}`,
    position: { tx: n.tx, id: n.cursor },
    time: n.time,
    severity: n.alert.severity,
    action: n.action,
    alert: alertView(n.alert),
  };
}

export function eventNotification(e: PendingEvent): Notification {
  return {
    kind: 'event',
    id: `event:${e.cursor}`,
    position: { tx: e.tx, id: e.cursor },
    time: e.receivedAt,
    severity: e.severity,
    event: eventView(e),
  };
}

/** The JSON a webhook receives. */
export type WebhookNotification = ReturnType<typeof notificationJson>;

export function notificationJson(n: Notification, manager: string) {
  return n.kind === 'alert'
    ? { id: n.id, kind: n.kind, action: n.action, time: n.time, manager, alert: n.alert }
    : { id: n.id, kind: n.kind, time: n.time, manager, event: n.event };
}

/** The computer a notification is about, or null. */
export function notificationHost(n: Notification): string | null {
  return n.kind === 'alert' ? n.alert.hostName : n.event.hostName;
}

/** One line a person reads: what happened, where. */
export function notificationSentence(n: Notification): string {
  if (n.kind === 'alert') return `Alert ${n.action}: ${n.alert.name} (${n.alert.severity}): ${n.alert.message}`;
  return `${n.event.type} (${n.event.severity}) on ${n.event.hostName ?? `computer ${n.event.computerID}`}: ${n.event.message}`;
}
