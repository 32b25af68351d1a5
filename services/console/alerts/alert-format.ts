import type { AlertTransition } from './alert-tracker';

/** Webhook bodies for a transition: pure. */

/**
 * Text for Slack's mrkdwn: `&`, `<` and `>` escaped as Slack asks
 * (https://api.slack.com/reference/surfaces/formatting#escaping), so a value
 * from the traffic (a user or model name such as `<!channel>` or
 * `<https://evil|click>`) is shown as typed and never becomes a mention or a link.
 */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Slack-compatible incoming-webhook body (also Mattermost, Rocket.Chat, Teams' Slack mode). */
export function slackBody(t: AlertTransition): { text: string } {
  const icon = t.state === 'firing' ? ':red_circle:' : ':large_green_circle:';
  const group = t.group ? ` (${escapeSlack(t.group)})` : '';
  return { text: `${icon} llm-logger alert ${t.state.toUpperCase()}: *${escapeSlack(t.rule)}*${group}: ${escapeSlack(t.message)}` };
}

/** Generic JSON body: the transition as published on the alerts topic. */
export function jsonBody(t: AlertTransition): { type: 'llm-logger.alert'; alert: AlertTransition } {
  return { type: 'llm-logger.alert', alert: t };
}
