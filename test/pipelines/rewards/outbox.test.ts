import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, describe, it } from 'node:test';
import { listNotifications, NOTIFICATION_STATUSES, Outbox, type OutboxItem } from '../../../src/pipelines/rewards/outbox.js';
import { openPlatform, tempHome } from '../../helpers/platform.js';
import { dropSchemas, skipUnless, warehouseFor, type WarehouseKind } from '../../helpers/warehouses.js';

const homes: string[] = [];
after(async () => {
  await dropSchemas(homes);
  await Promise.all(homes.map((h) => rm(h, { recursive: true, force: true })));
});

function item(employee: number, day: number, extra: Partial<OutboxItem> = {}): OutboxItem {
  const startedAt = new Date(Date.UTC(2025, 7, day, 7));
  return {
    activityKey: `${employee}:${startedAt.toISOString()}`,
    eventId: `e${employee}-${day}`,
    employeeId: employee,
    startedAt,
    message: `Bravo ${employee} (${day})`,
    ...extra,
  };
}

for (const kind of ['duckdb', 'postgres'] as WarehouseKind[]) {
  describe(`rewards outbox (${kind})`, { skip: await skipUnless(kind) }, () => {
    it('keeps one row per activity, and walks a row through its states', async () => {
      const home = await tempHome('ecluse-outbox-');
      homes.push(home);
      const p = await openPlatform(home, { ECLUSE_WAREHOUSE: warehouseFor(kind, home) });
      try {
        const outbox = await Outbox.open(p.warehouse);
        const now = new Date('2025-08-20T10:00:00Z');
        assert.equal(await outbox.enqueue([item(1, 17), item(1, 17), item(2, 17)], now), 2);
        // The same activity again (a redelivered event, an update's key): nothing new.
        assert.equal(await outbox.enqueue([item(1, 17, { message: 'autre' }), item(3, 1, { skipReason: 'too old' })], now), 1);
        let counts = await outbox.counts();
        assert.deepEqual(Object.keys(counts), [...NOTIFICATION_STATUSES]);
        assert.deepEqual(counts, { pending: 2, sending: 0, sent: 0, dead: 0, unconfirmed: 0, skipped: 1 });

        const due = await outbox.due(10, now);
        assert.deepEqual(
          due.map((d) => d.message),
          ['Bravo 1 (17)', 'Bravo 2 (17)'],
        );
        // Not due before it was queued.
        assert.equal((await outbox.due(10, new Date('2025-08-20T09:00:00Z'))).length, 0);

        // A delete skips a pending row only.
        assert.equal(await outbox.skipPending([item(2, 17).activityKey], 'deleted'), 1);
        const claimed = await outbox.claim([item(1, 17).activityKey, item(2, 17).activityKey]);
        assert.deepEqual([...claimed], [item(1, 17).activityKey]);
        assert.equal(await outbox.skipPending([item(1, 17).activityKey], 'deleted'), 0, 'a row being sent is not skipped');

        await outbox.finish([{ key: item(1, 17).activityKey, status: 'retry', at: new Date('2025-08-20T10:00:05Z'), error: 'HTTP 500', counts: true }], now);
        assert.equal((await outbox.due(10, new Date('2025-08-20T10:00:04Z'))).length, 0, 'waits its backoff');
        const [again] = await outbox.due(10, new Date('2025-08-20T10:00:06Z'));
        assert.equal(again?.attempts, 1);

        await outbox.claim([item(1, 17).activityKey]);
        await outbox.finish([{ key: item(1, 17).activityKey, status: 'sent' }], new Date('2025-08-20T10:00:07Z'));
        counts = await outbox.counts();
        assert.deepEqual(counts, { pending: 0, sending: 0, sent: 1, dead: 0, unconfirmed: 0, skipped: 2 });

        // A row left sending by a dead sender is unconfirmed, never due again.
        await outbox.enqueue([item(4, 18)], now);
        await outbox.claim([item(4, 18).activityKey]);
        assert.equal(await outbox.recoverSending('died mid-post'), 1);
        assert.equal((await outbox.due(10, new Date('2030-01-01T00:00:00Z'))).length, 0);

        await outbox.enqueue([item(5, 18)], now);
        await outbox.claim([item(5, 18).activityKey]);
        await outbox.finish([{ key: item(5, 18).activityKey, status: 'dead', error: 'HTTP 404: no_service' }], now);

        const list = await listNotifications(p.warehouse, { limit: 10, offset: 0 });
        assert.equal(list.total, 5);
        assert.deepEqual(list.counts, { pending: 0, sending: 0, sent: 1, dead: 1, unconfirmed: 1, skipped: 2 });
        const sent = list.items.find((i) => i.status === 'sent');
        assert.equal(sent?.attempts, 2);
        assert.equal(sent?.sent_at, '2025-08-20T10:00:07Z');
        assert.equal(sent?.started_at, '2025-08-17T07:00:00Z');
        const dead = await listNotifications(p.warehouse, { status: 'dead', limit: 10, offset: 0 });
        assert.deepEqual(
          dead.items.map((i) => [i.employee_id, i.last_error]),
          [[5, 'HTTP 404: no_service']],
        );
        assert.equal(dead.total, 1);
      } finally {
        await p.warehouse.close();
      }
    });
  });
}
