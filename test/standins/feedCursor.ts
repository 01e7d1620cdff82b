/**
 * The change feed's opaque cursor (get-convex/convex-backend at 94a42c3d): `DataSyncCursor` plus the sync id
 * (crates/streaming_export/src/lib.rs `SyncCursor`), encrypted as crates/keybroker/src/encryptor.rs
 * `encrypt_proto` does — lowercase hex of version byte 1, a 12-byte nonce, the ciphertext and a 16-byte tag, with
 * the version as associated data. (AES-GCM here: Node has no AES-GCM-SIV; the payload is JSON instead of
 * protobuf. Both are opaque to clients.)
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { HttpError } from "./httpError.js";

export interface CursorState {
  syncedTs: string;
  syncedTables: number[];
  inProgress: { tablet: number; currentId: string | null } | null;
  syncId: string;
}

export class CursorCipher {
  private readonly key = randomBytes(32);

  encrypt(state: CursorState): string {
    const nonce = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, nonce);
    cipher.setAAD(Buffer.from([1]));
    const body = Buffer.concat([cipher.update(JSON.stringify(state), "utf8"), cipher.final()]);
    return Buffer.concat([Buffer.from([1]), nonce, body, cipher.getAuthTag()]).toString("hex");
  }

  /** A damaged or foreign cursor is 400 InvalidDataSyncCursor (local_backend/src/streaming_export.rs). */
  decrypt(token: string): CursorState {
    try {
      if (!/^([0-9a-f]{2})+$/.test(token)) throw new Error("not hex");
      const bytes = Buffer.from(token, "hex");
      if (bytes[0] !== 1 || bytes.length < 1 + 12 + 16) throw new Error("bad version");
      const decipher = createDecipheriv("aes-256-gcm", this.key, bytes.subarray(1, 13));
      decipher.setAAD(Buffer.from([1]));
      decipher.setAuthTag(bytes.subarray(bytes.length - 16));
      const plain = Buffer.concat([decipher.update(bytes.subarray(13, bytes.length - 16)), decipher.final()]);
      return JSON.parse(plain.toString("utf8")) as CursorState;
    } catch {
      throw new HttpError(400, "InvalidDataSyncCursor", "Could not parse the data sync cursor");
    }
  }
}
