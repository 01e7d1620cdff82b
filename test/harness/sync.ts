/**
 * One client connection speaking Convex's WebSocket sync protocol (convex/src/browser/sync/protocol.ts of the
 * pinned `convex` version). The client sends Connect, ModifyQuerySet, Mutation, Action, Authenticate and Event;
 * we answer with Transition (query results since the last version the client has), MutationResponse,
 * ActionResponse and AuthError.
 *
 * The client completes a mutation only once it has seen a Transition at or past the mutation's timestamp, so
 * every write is followed by a Transition even when no subscribed result changed.
 */
import type { UserIdentity } from "convex/server";
import type { JSONValue } from "convex/values";
import { FunctionFailure, toFailure, type Backend } from "./backend.js";
import { InvalidTokenError } from "./identity.js";

type ClientMessage =
  | { type: "Connect"; sessionId: string; connectionCount: number }
  | {
      type: "ModifyQuerySet";
      baseVersion: number;
      newVersion: number;
      modifications: (
        | { type: "Add"; queryId: number; udfPath: string; args: JSONValue[] }
        | { type: "Remove"; queryId: number }
      )[];
    }
  | { type: "Mutation" | "Action"; requestId: number; udfPath: string; args: JSONValue[] }
  | { type: "Authenticate"; tokenType: "User" | "Admin" | "None"; value?: string; baseVersion: number }
  | { type: "Event" };

type Modification =
  | { type: "QueryUpdated"; queryId: number; value: JSONValue; logLines: string[]; journal: null }
  | {
      type: "QueryFailed";
      queryId: number;
      errorMessage: string;
      logLines: string[];
      /** Left out when the function threw no ConvexError (crates/convex/sync_types/src/types/json.rs). */
      errorData?: JSONValue;
      journal: null;
    }
  | { type: "QueryRemoved"; queryId: number };

interface Subscription {
  udfPath: string;
  args: JSONValue;
  /** The encoded result last sent, to send only what changed. */
  lastSent: string | null;
}

export interface SyncTransport {
  send(message: object): void;
  close(code: number, reason: string): void;
}

export type TokenVerifier = (token: string) => Partial<UserIdentity>;

/** Timestamps travel as base64 of a little-endian u64. */
export function encodeTs(ts: bigint): string {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64LE(ts);
  return bytes.toString("base64");
}

export class SyncSession {
  readonly #backend: Backend;
  readonly #transport: SyncTransport;
  readonly #verifyToken: TokenVerifier;
  readonly #queries = new Map<number, Subscription>();
  #identity: Partial<UserIdentity> | null = null;
  /** The version the client holds: the end version of the last Transition we sent. */
  #version = { querySet: 0, identity: 0, ts: 0n };
  /** Messages are handled one at a time, in order; writes by others queue a refresh on the same chain. */
  #chain: Promise<void> = Promise.resolve();
  #unsubscribe: () => void;
  #closed = false;

  constructor(backend: Backend, transport: SyncTransport, verifyToken: TokenVerifier) {
    this.#backend = backend;
    this.#transport = transport;
    this.#verifyToken = verifyToken;
    this.#unsubscribe = backend.onWrite(() => this.#enqueue(() => this.#refresh({})));
  }

  receive(raw: string): void {
    const message = JSON.parse(raw) as ClientMessage;
    // Mutations and actions start in order (with the identity of the Authenticate before them) but run
    // concurrently with what follows, as on a deployment.
    if (message.type === "Mutation" || message.type === "Action") {
      this.#enqueue(async () => void this.#runRequest(message, this.#identity));
    } else this.#enqueue(() => this.#handle(message));
  }

  close(): void {
    this.#closed = true;
    this.#unsubscribe();
  }

  #enqueue(task: () => Promise<void>): void {
    this.#chain = this.#chain.then(task).catch((error: unknown) => {
      console.error("[harness] sync session error:", error);
      this.#transport.close(1011, "internal error");
    });
  }

  async #handle(message: ClientMessage): Promise<void> {
    switch (message.type) {
      case "Connect":
      case "Event":
        return;
      case "ModifyQuerySet": {
        const removed: Modification[] = [];
        for (const change of message.modifications) {
          if (change.type === "Add") {
            this.#queries.set(change.queryId, {
              udfPath: change.udfPath,
              args: change.args[0] ?? {},
              lastSent: null,
            });
          } else {
            this.#queries.delete(change.queryId);
            removed.push({ type: "QueryRemoved", queryId: change.queryId });
          }
        }
        return this.#refresh({ querySet: message.newVersion, extra: removed });
      }
      case "Authenticate":
        return this.#authenticate(message);
      case "Mutation":
      case "Action":
        return;
      default:
        message satisfies never;
    }
  }

  async #authenticate(message: Extract<ClientMessage, { type: "Authenticate" }>): Promise<void> {
    if (message.tokenType === "User") {
      try {
        this.#identity = this.#verifyToken(message.value ?? "");
      } catch (error) {
        const reason = error instanceof InvalidTokenError ? error.message : "Could not verify token";
        this.#transport.send({
          type: "AuthError",
          error: reason,
          baseVersion: message.baseVersion,
          authUpdateAttempted: true,
        });
        this.#transport.close(1000, "AuthError");
        return;
      }
    } else if (message.tokenType === "Admin") {
      this.#transport.send({
        type: "AuthError",
        error: "Admin keys are not supported by the harness",
        baseVersion: message.baseVersion,
        authUpdateAttempted: true,
      });
      this.#transport.close(1000, "AuthError");
      return;
    } else {
      this.#identity = null;
    }
    // A new identity can change every result: send them all again.
    for (const query of this.#queries.values()) query.lastSent = null;
    await this.#refresh({ identity: message.baseVersion + 1 });
  }

  /** Re-runs the subscribed queries and sends one Transition with what changed. */
  async #refresh(next: {
    querySet?: number;
    identity?: number;
    extra?: Modification[];
    force?: boolean;
  }): Promise<void> {
    if (this.#closed) return;
    const ts = this.#backend.latestTs > this.#version.ts ? this.#backend.latestTs : this.#version.ts;
    const modifications: Modification[] = [...(next.extra ?? [])];
    for (const [queryId, query] of this.#queries) {
      const modification = await this.#runQuery(queryId, query);
      const encoded = JSON.stringify(modification);
      if (encoded !== query.lastSent) {
        query.lastSent = encoded;
        modifications.push(modification);
      }
    }
    const end = {
      querySet: next.querySet ?? this.#version.querySet,
      identity: next.identity ?? this.#version.identity,
      ts,
    };
    const unchanged =
      modifications.length === 0 &&
      end.querySet === this.#version.querySet &&
      end.identity === this.#version.identity &&
      end.ts === this.#version.ts;
    if ((unchanged && !next.force) || this.#closed) return;
    this.#transport.send({
      type: "Transition",
      startVersion: { ...this.#version, ts: encodeTs(this.#version.ts) },
      endVersion: { ...end, ts: encodeTs(end.ts) },
      modifications,
      serverTs: Date.now(),
    });
    this.#version = end;
  }

  async #runQuery(queryId: number, query: Subscription): Promise<Modification> {
    try {
      const value = await this.#backend.call("query", query.udfPath, query.args, this.#identity);
      return { type: "QueryUpdated", queryId, value, logLines: [], journal: null };
    } catch (error) {
      const failure = error instanceof FunctionFailure ? error : toFailure(error);
      return {
        type: "QueryFailed",
        queryId,
        errorMessage: failure.message,
        logLines: [],
        journal: null,
        ...(failure.errorData !== undefined ? { errorData: failure.errorData } : {}),
      };
    }
  }

  async #runRequest(
    message: Extract<ClientMessage, { type: "Mutation" | "Action" }>,
    identity: Partial<UserIdentity> | null,
  ): Promise<void> {
    const kind = message.type === "Mutation" ? "mutation" : "action";
    let response: object;
    try {
      const result = await this.#backend.call(kind, message.udfPath, message.args[0] ?? {}, identity);
      response =
        kind === "mutation"
          ? {
              type: "MutationResponse",
              requestId: message.requestId,
              success: true,
              result,
              ts: encodeTs(this.#backend.latestTs),
              logLines: [],
            }
          : { type: "ActionResponse", requestId: message.requestId, success: true, result, logLines: [] };
    } catch (error) {
      const failure = error instanceof FunctionFailure ? error : toFailure(error);
      response = {
        type: message.type === "Mutation" ? "MutationResponse" : "ActionResponse",
        requestId: message.requestId,
        success: false,
        result: failure.message,
        logLines: [],
        ...(failure.errorData !== undefined ? { errorData: failure.errorData } : {}),
      };
    }
    // The client resolves a mutation at the first Transition at or past its timestamp that arrives after the
    // response, so always follow the response with one.
    this.#enqueue(async () => {
      if (this.#closed) return;
      this.#transport.send(response);
      await this.#refresh({ force: kind === "mutation" });
    });
  }
}
