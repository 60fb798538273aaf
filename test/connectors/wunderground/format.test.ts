import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_WU_STATIONS, type StationConfig } from '../../../src/connectors/wunderground/stations.js';
import { sheetDate, stationForFileName } from '../../../src/connectors/wunderground/format.js';

const LA_MADELEINE = DEFAULT_WU_STATIONS.find((s) => s.id === 'ILAMAD25') as StationConfig;

test('stationForFileName decodes the name and matches city (case, accents) and country', () => {
  const stations: StationConfig[] = [...DEFAULT_WU_STATIONS, { ...LA_MADELEINE, id: 'ILIEGE1', city: 'Liège', country: 'BE', timezone: 'Europe/Brussels' }];
  const id = (name: string) => stationForFileName(name, stations)?.id ?? null;
  assert.equal(id('Weather+Underground+-+La+Madeleine,+FR.xlsx'), 'ILAMAD25');
  assert.equal(id('Weather+Underground+-+ICHTEGEM,+BE.xlsx'), 'IICHTE19');
  assert.equal(id('Weather+Underground+-+ichtegem,+be.XLSX'), 'IICHTE19');
  assert.equal(id('Weather%20Underground%20-%20La%20Madeleine%2C%20FR.xlsx'), 'ILAMAD25');
  assert.equal(id('Weather+Underground+-+LIEGE,+BE.xlsx'), 'ILIEGE1');
  assert.equal(id('Weather+Underground+-+Li%C3%A8ge,+BE.xlsx'), 'ILIEGE1');
  assert.equal(id('Weather+Underground+-+La+Madeleine,+FR+(1).xlsx'), 'ILAMAD25');
  assert.equal(id('drop/2024/Weather+Underground+-+La+Madeleine,+FR.xlsx'), 'ILAMAD25');
  assert.equal(id('Weather+Underground+-+La+Madeleine.xlsx'), 'ILAMAD25');
  assert.equal(id('Weather+Underground+-+La+Madeleine,+BE.xlsx'), null, 'wrong country');
  assert.equal(id('Weather+Underground+-+Lille,+FR.xlsx'), null, 'unknown city');
  assert.equal(id('La+Madeleine,+FR.xlsx'), null, 'not a WU export name');
});

test('sheetDate reads DDMMYY sheet names as a day, and refuses days that do not exist', () => {
  assert.equal(sheetDate('011024'), Date.UTC(2024, 9, 1));
  assert.equal(sheetDate(' 290224 '), Date.UTC(2024, 1, 29));
  assert.equal(sheetDate('300224'), null);
  assert.equal(sheetDate('1 Oct 2024'), null);
});
