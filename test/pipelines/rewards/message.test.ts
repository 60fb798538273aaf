import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { congratulation, frenchDate, frenchDuration, frenchKm } from '../../../src/pipelines/rewards/message.js';

describe('rewards: the French congratulation', () => {
  it('says durations in minutes under an hour, hours and two-digit minutes above', () => {
    assert.equal(frenchDuration(20), '1 minute');
    assert.equal(frenchDuration(60), '1 minute');
    assert.equal(frenchDuration(45 * 60), '45 minutes');
    assert.equal(frenchDuration(58 * 60 + 29), '58 minutes');
    assert.equal(frenchDuration(59 * 60 + 40), '1 heure');
    assert.equal(frenchDuration(3600), '1 heure');
    assert.equal(frenchDuration(90 * 60), '1 heure 30');
    assert.equal(frenchDuration(2 * 3600), '2 heures');
    assert.equal(frenchDuration(2 * 3600 + 5 * 60), '2 heures 05');
  });

  it('dates the day in Paris, with 1er for the first of a month', () => {
    assert.equal(frenchDate(new Date('2025-08-17T08:00:00Z')), 'dimanche 17 août 2025');
    assert.equal(frenchDate(new Date('2025-08-01T08:00:00Z')), 'vendredi 1er août 2025');
    // 23:30 UTC on 31 August is already 1 September in Paris (summer time, UTC+2).
    assert.equal(frenchDate(new Date('2025-08-31T23:30:00Z')), 'lundi 1er septembre 2025');
    // The 11th and the 21st are not "1er".
    assert.equal(frenchDate(new Date('2025-03-21T12:00:00Z')), 'vendredi 21 mars 2025');
  });

  it('writes kilometres with a decimal comma', () => {
    assert.equal(frenchKm(10_400), '10,4 km');
    assert.equal(frenchKm(10_000), '10 km');
    assert.equal(frenchKm(5_449), '5,4 km');
    assert.equal(frenchKm(1_234_500), '1234,5 km');
  });

  it('builds the message of FORMATS.md, with the distance for distance sports', () => {
    assert.equal(
      congratulation(
        { first_name: 'Juliette', last_name: 'Mendes' },
        { employee_id: 1, started_at: '2025-08-17T07:00:00Z', elapsed_s: 7200, sport: 'Randonnée', distance_m: null },
      ),
      'Bravo Juliette Mendes ! Vous avez fait 2 heures de Randonnée le dimanche 17 août 2025',
    );
    assert.equal(
      congratulation(
        { first_name: 'Audrey', last_name: 'Colin' },
        { employee_id: 2, started_at: new Date('2025-08-16T17:00:00Z'), elapsed_s: 58 * 60, sport: 'Runing', distance_m: 10_400 },
      ),
      'Bravo Audrey Colin ! Vous avez fait 10,4 km de Runing en 58 minutes le samedi 16 août 2025',
    );
  });

  it('elides de before a vowel, and names an unknown employee by id', () => {
    assert.equal(
      congratulation(null, { employee_id: 42, started_at: '2025-09-01T16:00:00Z', elapsed_s: 5400, sport: 'Escalade' }),
      "Bravo l'employé·e 42 ! Vous avez fait 1 heure 30 d'Escalade le lundi 1er septembre 2025",
    );
    assert.match(
      congratulation({ first_name: 'A', last_name: 'B' }, { employee_id: 3, started_at: '2025-09-02T16:00:00Z', elapsed_s: 3600, sport: 'Équitation' }),
      /1 heure d'Équitation/,
    );
    assert.match(
      congratulation({ first_name: 'A', last_name: 'B' }, { employee_id: 3, started_at: '2025-09-02T16:00:00Z', elapsed_s: 2700, sport: 'Tennis' }),
      /45 minutes de Tennis le mardi 2 septembre 2025$/,
    );
  });
});
