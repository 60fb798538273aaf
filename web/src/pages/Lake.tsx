import { useState, type MouseEvent } from 'react';
import type { ApiGet, LakeObject, List, RawFile } from '../lib/api.js';
import { ApiError, apiFetch, apiUrl } from '../lib/api.js';
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

/**
 * A raw file's download. Raw files may need a token, and a plain link cannot send a header (the token never
 * goes in a URL): the click fetches the file with the token and saves it. The href stays for "copy link".
 */
function DownloadLink({ href, name }: { href: string; name: string }) {
  const [error, setError] = useState<string | null>(null);
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    setError(null);
    void (async () => {
      const res = await apiFetch(href, { accept: '*/*' });
      if (!res.ok)
        throw new ApiError(
          res.status,
          'http_error',
          ((await res.json().catch(() => null)) as { message?: string } | null)?.message ?? `${res.status} ${res.statusText}`,
        );
      const url = URL.createObjectURL(await res.blob());
      const a = document.createElement('a');
      a.href = url;
      a.download = name;
      a.click();
      // The click has handed the blob to the browser's download; the URL is no longer needed.
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    })().catch((err: Error) => setError(err.message));
  };
  return (
    <>
      <a href={href} download={name} data-testid="download" onClick={onClick}>
        Download
      </a>
      {error ? (
        <span className="warn" role="alert">
          {' '}
          {error}
        </span>
      ) : null}
    </>
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
            <DownloadLink href={`/raw/files/${f.key}`} name={f.name} />
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
  const zones = useApi<ApiGet<'/lake/zones'>>('/lake/zones');
  return (
    <>
      <h1>Lake</h1>
      <Async state={zones} what="zones">
        {(d) => (
          <>
            <p className="muted">{d.location}</p>
            <div className="tabs" role="tablist">
              {d.items.map((z) => (
                <button
                  key={z.zone}
                  type="button"
                  role="tab"
                  aria-selected={z.zone === zone}
                  className={z.zone === zone ? 'active' : ''}
                  data-zone={z.zone}
                  onClick={() => update(q, { zone: z.zone, offset: undefined, prefix: undefined })}
                >
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
