/**
 * Seed 002's user communication ("User Communication Templates"): for each
 * incident template, the e-mail, the status-page update, the in-app message
 * and the support team's reply. `{field}` is a placeholder filled from the
 * incident's fields (render.ts); each template declares the fields it needs.
 */

export interface EmailText {
  readonly subject: string;
  readonly body: string;
}
/** The status page's incident update; also the JSON the rollback POSTs to the status-page webhook. */
export interface StatusPageText {
  readonly title: string;
  readonly status: "investigating" | "identified" | "monitoring" | "resolved";
  readonly message: string;
}
export interface InAppText {
  readonly title: string;
  readonly message: string;
  readonly severity: "info" | "warning" | "critical";
}
export interface SupportText {
  readonly body: string;
}

export interface ChannelTexts {
  readonly email: EmailText;
  readonly statusPage: StatusPageText;
  readonly inApp: InAppText;
  readonly supportResponse: SupportText;
}
export type Channel = keyof ChannelTexts;
export const CHANNELS = ["email", "statusPage", "inApp", "supportResponse"] as const satisfies readonly Channel[];

export interface Template<F extends string> {
  /** What the incident must supply, with an example (the tests render every template with the examples). */
  readonly fields: Readonly<Record<F, { readonly help: string; readonly example: string }>>;
  readonly channels: ChannelTexts;
}

const template = <F extends string>(t: Template<F>): Template<F> => t;

const SIGNATURE = "Best regards,\nReceipt Organizer Team";

export const TEMPLATES = {
  /** Authentication is down or switched off (the rollback posts its status-page update). */
  authDown: template({
    fields: {
      estimated_time: { help: "when we expect logins to work again", example: "2 hours" },
    },
    channels: {
      email: {
        subject: "Temporary Authentication Service Interruption",
        body: `Dear User,

We are currently experiencing issues with our authentication service.
You may have trouble logging in or accessing your account.

Current Status: Investigating
Estimated Resolution: {estimated_time}

In the meantime, you can still:
- Access receipts in offline mode
- Export your data if previously logged in

We apologize for any inconvenience.

${SIGNATURE}`,
      },
      statusPage: {
        title: "Authentication Service Interruption",
        status: "identified",
        message:
          "Logging in is temporarily unavailable; the app works in offline mode meanwhile. Estimated resolution: {estimated_time}. We will post an update when logins work again.",
      },
      inApp: {
        title: "Authentication Service Issue",
        message: "Login temporarily unavailable. Offline mode active. Expected back within {estimated_time}.",
        severity: "warning",
      },
      supportResponse: {
        body: `Hello,

Thank you for getting in touch. Logging in is temporarily unavailable because of an issue with our authentication service; our team is working on it and expects it to be resolved within {estimated_time}.

Your receipts are safe. Until then you can keep using the app in offline mode, and export your data if you were logged in before.

${SIGNATURE}`,
      },
    },
  }),
  /** Authentication is back after a rollback; sessions may have been revoked, so users log in again. */
  rollbackComplete: template({
    fields: {
      incident_summary: { help: "what happened, in the users' terms", example: "a faulty update made logins fail for some users" },
      resolution_summary: { help: "what we did about it", example: "we reverted the update and checked that logins work again" },
    },
    channels: {
      email: {
        subject: "Service Restored - Action Required",
        body: `Dear User,

Our authentication service has been restored. For security reasons,
you will need to log in again to access your account.

What happened: {incident_summary}
Resolution: {resolution_summary}

Thank you for your patience.

${SIGNATURE}`,
      },
      statusPage: {
        title: "Authentication Service Restored",
        status: "resolved",
        message: "Logging in works again. What happened: {incident_summary}. Resolution: {resolution_summary}. You may need to log in again.",
      },
      inApp: {
        title: "Service Restored",
        message: "Login is available again. For your security, please log in again.",
        severity: "info",
      },
      supportResponse: {
        body: `Hello,

Thank you for your patience. Our authentication service has been restored: {resolution_summary}.

What happened: {incident_summary}. For security reasons you may need to log in again; your receipts were not affected.

${SIGNATURE}`,
      },
    },
  }),
} as const;

export type TemplateName = keyof typeof TEMPLATES;
export const TEMPLATE_NAMES = Object.keys(TEMPLATES) as TemplateName[];
/** The fields a template needs, by name: what render() must be given. */
export type TemplateFields<T extends TemplateName> = Record<keyof (typeof TEMPLATES)[T]["fields"] & string, string>;
