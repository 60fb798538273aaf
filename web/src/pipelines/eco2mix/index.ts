import type { DashboardPipeline } from '../kit.js';
import { EnergyPage } from './Energy.js';

/** The eco2mix pipeline's page: a region's production, consumption, exchanges and mix, and the regions' latest hour. */
export const eco2mixPages: DashboardPipeline = {
  name: 'eco2mix',
  pages: [{ page: 'energy', component: EnergyPage }],
  nav: [{ page: 'energy', label: 'Energy' }],
};
