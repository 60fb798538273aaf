import { useEffect, useRef, useState, useSyncExternalStore, type FormEvent } from 'react';
import { apiToken } from '../lib/token.js';

/**
 * The question "this view needs a token": shown when a request meets a 401 (lib/api apiFetch), once for
 * every view waiting. Says what the token is and where it goes; the answer is kept for this tab only.
 */
export function TokenDialog() {
  const question = useSyncExternalStore(apiToken.subscribe, apiToken.question);
  const ref = useRef<HTMLDialogElement>(null);
  const [value, setValue] = useState('');

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (question && !dialog.open) {
      setValue('');
      dialog.showModal();
    } else if (!question && dialog.open) dialog.close();
  }, [question]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (value.trim()) apiToken.set(value);
  };

  return (
    // Escape closes a modal dialog by itself: `onClose` turns that into a dismissal too.
    <dialog
      ref={ref}
      className="token-dialog"
      data-testid="token-dialog"
      aria-labelledby="token-title"
      onClose={() => apiToken.question() && apiToken.dismiss()}
    >
      <form method="dialog" onSubmit={submit}>
        <h2 id="token-title">{question?.refused ? 'The token was refused' : 'This view needs an API token'}</h2>
        <p className="server-says" data-testid="token-reason">
          The server answered: <q>{question?.message}</q>
        </p>
        <p>
          {question?.refused ? 'The token kept for this tab was not accepted. ' : ''}
          Paste a token of this ecluse server: its <code>ECLUSE_API_TOKEN</code>, or one made with <code>ecluse tokens create</code> (a <code>read</code> token
          is enough for the dashboard). Ask the server&apos;s operator if you have none.
        </p>
        <label>
          Token
          <input
            name="token"
            type="password"
            autoComplete="off"
            spellCheck={false}
            value={value}
            onChange={(e) => setValue(e.target.value)}
            autoFocus
            required
          />
        </label>
        <p className="muted small">
          Kept for this browser tab only (sessionStorage) and sent as an <code>Authorization</code> header, never in a URL.
        </p>
        <div className="actions">
          <button type="button" onClick={() => apiToken.dismiss()}>
            Cancel
          </button>
          <button type="submit" className="primary">
            Use this token
          </button>
        </div>
      </form>
    </dialog>
  );
}

/** In the header while a token is kept: a way to forget it (shared computers, a token to change). */
export function TokenStatus() {
  const token = useSyncExternalStore(apiToken.subscribe, () => apiToken.get());
  if (!token) return null;
  return (
    <button type="button" className="forget-token" data-testid="forget-token" title="Forget the API token kept for this tab" onClick={() => apiToken.forget()}>
      Forget token
    </button>
  );
}
