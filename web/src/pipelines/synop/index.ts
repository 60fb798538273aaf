import type { DashboardPipeline } from '../kit.js';
import { CitiesPage } from './Cities.js';

/** The synop pipeline's page: cities' daily statistics, and two cities compared. */
export const synopPages: DashboardPipeline = {
  name: 'synop',
  pages: [{ page: 'cities', component: CitiesPage }],
  nav: [{ page: 'cities', label: 'Cities' }],
};
