import type { LakeObject, List, RawFile } from '../lib/api.js';
import { apiUrl } from '../lib/api.js';
import { formatBytes, formatCount, formatInstant } from '../lib/format.js';
import { intParam, type QueryState } from '../lib/query.js';
import { ListTable } from '../components/ListTable.js';
import { Async } from '../components/States.js';
import { update } from '../router.js';
import { useApi } from '../useApi.js';

const PAGE = 50;
type Zone = 'raw' | 'staging' | 'curated';

function Hash({ sha256 }: { sha256: string | null }) {
  if (!sha256) return <span className="muted">—</span>;
  return (
    <code className="hash" title={sha256}>
      {sha256.slice(0, 12)}…
    </code>
  );
}

/** The raw zone as the files that arrived: original name, source, hash, received time, download. */
function RawFiles({ q }: { q: QueryState }) {
  const offset = intParam(q.offset, 0);
  const files = useApi<List<RawFile>>(apiUrl('/raw/files', { pipeline: q.pipeline, limit: PAGE, offset }));
  return (
    <ListTable
      state={files}
      what="raw files"
      empty="The raw zone is empty: files land here when a pipeline runs."
      testId="lake-table"
      paging={{ q, limit: PAGE, offset }}
      head={
        <>
          <th>File</th>
          <th>Pipeline / source</th>
          <th className="num">Size</th>
          <th>SHA-256</th>
          <th>Received</th>
          <th></th>
        </>
      }
      row={(f) => (
        <tr key={f.key}>
          <td className="mono" title={f.key}>
            {f.name}
          </td>
          <td>
            {f.pipeline} / {f.source}
          </td>
          <td className="num">{formatBytes(f.size)}</td>
          <td>
            <Hash sha256={f.sha256} />
          </td>
          <td>{formatInstant(f.received_at)}</td>
          <td>
            <a href={`/raw/files/${f.key}`} download={f.name} data-testid="download">
              Download
            </a>
          </td>
        </tr>
      )}
    />
  );
}

/** Staging and curated: the Parquet partitions as stored. */
function ZoneObjects({ q, zone }: { q: QueryState; zone: Zone }) {
  const offset = intParam(q.offset, 0);
  const objects = useApi<List<LakeObject>>(apiUrl('/lake/files', { zone, prefix: q.prefix, limit: PAGE, offset }));
  return (
    <ListTable
      state={objects}
      what={`${zone} objects`}
      empty={`The ${zone} zone holds no object yet.`}
      testId="lake-table"
      paging={{ q, limit: PAGE, offset }}
      head={
        <>
          <th>Key</th>
          <th className="num">Size</th>
          <th>Written</th>
        </>
      }
      row={(o) => (
        <tr key={o.key}>
          <td className="mono">{o.key}</td>
          <td className="num">{formatBytes(o.size)}</td>
          <td>{formatInstant(o.modified_at)}</td>
        </tr>
      )}
    />
  );
}

export function LakePage({ q }: { q: QueryState }) {
  const zone: Zone = q.zone === 'staging' || q.zone === 'curated' ? q.zone : 'raw';
  const zones = useApi<{ items: Array<{ zone: Zone; objects: number; bytes: number }>; location: string }>('/lake/zones');
  return (
    <>
      <h1>Lake</h1>
      <Async state={zones} what="zones">
        {(d) => (
          <>
            <p className="muted">{d.location}</p>
            <div className="tabs" role="tablist">
              {d.items.map((z) => (
                <button key={z.zone} type="button" role="tab" aria-selected={z.zone === zone} className={z.zone === zone ? 'active' : ''} data-zone={z.zone} onClick={() => update(q, { zone: z.zone, offset: undefined, prefix: undefined })}>
                  <strong>{z.zone}</strong>
                  <span>
                    {formatCount(z.objects)} objects · {formatBytes(z.bytes)}
                  </span>
                </button>
              ))}
            </div>
          </>
        )}
      </Async>
      {zone === 'raw' ? <RawFiles q={q} /> : <ZoneObjects q={q} zone={zone} />}
    </>
  );
}
