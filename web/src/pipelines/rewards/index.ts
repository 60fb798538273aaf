import type { DashboardPipeline } from '../kit.js';
import { RewardsPage } from './Rewards.js';

/** The rewards pipeline's page: HR's totals, activities by sport and month, inconsistencies, the Slack feed. */
export const rewardsPages: DashboardPipeline = {
  name: 'rewards',
  pages: [{ page: 'rewards', component: RewardsPage }],
  nav: [{ page: 'rewards', label: 'Rewards' }],
};
