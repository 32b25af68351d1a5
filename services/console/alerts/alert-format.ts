import type { AlertTransition } from './alert-tracker';

/** Webhook bodies for a transition: pure. */

/** Slack-compatible incoming-webhook body (also Mattermost, Rocket.Chat, Teams' Slack mode). */
export function slackBody(t: AlertTransition): { text: string } {
  const icon = t.state === 'firing' ? ':red_circle:' : ':large_green_circle:';
  return { text: `${icon} llm-logger alert ${t.state.toUpperCase()}: *${t.rule}*${t.group ? ` (${t.group})` : ''}: ${t.message}` };
}

/** Generic JSON body: the transition as published on the alerts topic. */
export function jsonBody(t: AlertTransition): { type: 'llm-logger.alert'; alert: AlertTransition } {
  return { type: 'llm-logger.alert', alert: t };
}
