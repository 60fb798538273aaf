import type { DashboardPipeline } from '../kit.js';
import { StationPage } from './Station.js';
import { StationsPage } from './Stations.js';

/** The stations pipeline's pages: the stations on a map and in a table, and one station's reports. */
export const stationsPages: DashboardPipeline = {
  name: 'stations',
  pages: [
    { page: 'stations', component: StationsPage },
    { page: 'station', component: StationPage },
  ],
  nav: [{ page: 'stations', label: 'Stations', also: ['station'] }],
};
