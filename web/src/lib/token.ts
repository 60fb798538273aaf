/**
 * The API token the dashboard sends as `Authorization: Bearer …`. It is asked for only when the server
 * answers 401, kept for the browser session (sessionStorage: this tab, gone when it closes) and never put in
 * a URL. Requests that meet a 401 at the same time share one question: the user is asked once.
 * DOM-free apart from the storage it is given, unit-tested.
 */

export const TOKEN_STORAGE_KEY = 'ecluse.apiToken';

/** Why the user is asked: no token yet, or the one kept was refused. `message` is the server's own. */
export interface TokenRequest {
  refused: boolean;
  message: string;
}

/** The part of the Web Storage API used (sessionStorage in the browser, a Map in tests). */
export interface TokenStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export class TokenKeeper {
  private pending: { request: TokenRequest; promise: Promise<string | null>; resolve: (token: string | null) => void } | null = null;
  private readonly listeners = new Set<() => void>();
  /** Bumped whenever a token is given: views that failed for want of one fetch again. */
  private given = 0;
  /** Held here too so a storage that throws (disabled, private mode) still works for this page's life. */
  private token: string | null;

  constructor(private readonly storage: TokenStorage | null) {
    this.token = readStorage(storage);
  }

  get(): string | null {
    return this.token;
  }

  /** How many tokens have been given so far (for `useSyncExternalStore`). */
  readonly version = (): number => this.given;

  /** The question being asked, or null (what the dialog shows). */
  readonly question = (): TokenRequest | null => this.pending?.request ?? null;

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Keeps `token` and answers every request waiting for one. */
  set(token: string): void {
    const t = token.trim();
    if (!t) throw new Error('the token is empty');
    this.token = t;
    try {
      this.storage?.setItem(TOKEN_STORAGE_KEY, t);
    } catch {
      // Storage refused (quota, privacy mode): the token still lives until the page is closed.
    }
    this.given++;
    this.settle(t);
  }

  forget(): void {
    this.token = null;
    try {
      this.storage?.removeItem(TOKEN_STORAGE_KEY);
    } catch {
      // Nothing stored to forget.
    }
    this.notify();
  }

  /**
   * Asks the user for a token; resolves with it, or null if the question is dismissed. While a question is
   * open, later calls share it (one dialog for every view waiting); a refusal makes the open question say so.
   */
  ask(request: TokenRequest): Promise<string | null> {
    if (this.pending) {
      if (request.refused && !this.pending.request.refused) {
        this.pending.request = request;
        this.notify();
      }
      return this.pending.promise;
    }
    let resolve!: (token: string | null) => void;
    const promise = new Promise<string | null>((r) => (resolve = r));
    this.pending = { request, promise, resolve };
    this.notify();
    return promise;
  }

  /** The user closed the dialog without a token: the waiting views show the 401 instead. */
  dismiss(): void {
    this.settle(null);
  }

  private settle(token: string | null): void {
    const p = this.pending;
    this.pending = null;
    p?.resolve(token);
    this.notify();
  }

  private notify(): void {
    for (const l of this.listeners) l();
  }
}

function readStorage(storage: TokenStorage | null): string | null {
  try {
    return storage?.getItem(TOKEN_STORAGE_KEY) || null;
  } catch {
    return null;
  }
}

function sessionStore(): TokenStorage | null {
  try {
    return (globalThis as { sessionStorage?: TokenStorage }).sessionStorage ?? null;
  } catch {
    // Reading `sessionStorage` itself throws where storage is disabled.
    return null;
  }
}

/** The dashboard's one keeper, on this tab's sessionStorage. */
export const apiToken = new TokenKeeper(sessionStore());
