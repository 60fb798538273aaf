import { z } from 'zod';
import { pipelineConfig } from '../kit/settings.js';

/** Sport Data Solution's rules as HR set them (FORMATS.md §4); each one can be changed in `pipelines.rewards.rules`. */
const rulesSchema = z
  .object({
    /** Percent of the gross annual salary paid to active commuters. */
    bonusPercent: z.number().min(0).max(100).default(5),
    /** Longest home → office distance believable on foot (walking/running), km. */
    walkingLimitKm: z.number().positive().default(15),
    /** Longest home → office distance believable by bike, scooter or other, km. */
    cyclingLimitKm: z.number().positive().default(25),
    /** Activities in the last 12 months that earn the well-being days. */
    wellbeingActivities: z.number().int().positive().default(15),
    wellbeingDays: z.number().int().min(0).default(5),
    /** Where everyone commutes to. */
    office: z.string().min(1).default('1362 Av. des Platanes, 34970 Lattes'),
    /** Road distance ≈ great-circle distance × this, for geocoded addresses. */
    roadFactor: z.number().min(1).max(3).default(1.25),
  })
  .strict();

/** The Slack notifier's pace and patience. */
const slackSchema = z
  .object({
    /** Slack's documented limit for incoming webhooks is 1 message per second per channel; 0 turns pacing off. */
    messagesPerSecond: z.number().min(0).default(1),
    /** Messages that may go at once after a quiet spell ("short bursts allowed"). */
    burst: z.number().int().min(1).default(3),
    /** Failed posts of one message before it goes to the dead letters. */
    maxAttempts: z.number().int().min(1).default(5),
    /** First wait after a 5xx or a network error, doubled per failure (a 429 waits its Retry-After instead). */
    backoffMs: z.number().int().min(0).default(1000),
    /** How long a post may take before it counts as a timeout (the ambiguous case: see docs/pipelines/rewards.md). */
    timeoutMs: z.number().int().positive().default(10_000),
    /** Activities that started longer ago than this are not congratulated (a first pull brings a year of history). */
    maxActivityAgeDays: z.number().min(0).default(7),
  })
  .strict();

const sectionSchema = z
  .object({
    /** `postgres://…` of the company database (employees, activities): the source of truth, captured by CDC. */
    database: z.string().url().optional(),
    /** The activity source (Strava-like: `GET /employee/{id}`), e.g. `ecluse simulate activities`. */
    activitiesUrl: z.string().url().optional(),
    /** The French national address API (`/search?q=`), for home → office distances. */
    geocoderUrl: z.string().url().optional(),
    /** A Slack incoming-webhook URL (a secret). */
    slackWebhook: z.string().url().optional(),
    rules: rulesSchema.default(rulesSchema.parse({})),
    slack: slackSchema.default(slackSchema.parse({})),
  })
  .strict();

export type RewardsRules = z.output<typeof rulesSchema>;
export type SlackSettings = z.output<typeof slackSchema>;

export interface RewardsSettings {
  database: string | undefined;
  activitiesUrl: string | undefined;
  geocoderUrl: string | undefined;
  slackWebhook: string | undefined;
  rules: RewardsRules;
  slack: SlackSettings;
}

/** `pipelines.rewards` of `ecluse.config.json`. */
export const rewardsConfig = pipelineConfig({
  name: 'rewards',
  schema: sectionSchema,
  env: [
    {
      name: 'ECLUSE_REWARDS_DB',
      key: 'database',
      description: 'postgres://… of the company database (employees, activities), captured by change-data-capture; unset: tables in the warehouse',
      secret: true,
    },
    { name: 'ECLUSE_REWARDS_ACTIVITIES_URL', key: 'activitiesUrl', description: 'the activity source (GET /employee/{id}), e.g. ecluse simulate activities' },
    { name: 'ECLUSE_GEOCODER_URL', key: 'geocoderUrl', description: 'French address API (/search?q=) for home-office distances; unset: distances unchecked' },
    { name: 'ECLUSE_SLACK_WEBHOOK', key: 'slackWebhook', description: 'Slack incoming-webhook URL for the congratulations', secret: true },
  ],
  resolve: (s): RewardsSettings => ({
    database: s.database || undefined,
    activitiesUrl: s.activitiesUrl || undefined,
    geocoderUrl: s.geocoderUrl || undefined,
    slackWebhook: s.slackWebhook || undefined,
    rules: s.rules,
    slack: s.slack,
  }),
});
