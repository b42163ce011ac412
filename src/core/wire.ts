// Reads the server's message stream beside postgres.js to tell how many statements of a multi-statement query
// completed before it failed: a migration is sent as one query, and PostgreSQL does not say which statement failed.

const COMMAND_COMPLETE = 0x43; // 'C': one per statement that completed
const ERROR_RESPONSE = 0x45; // 'E'
const READY_FOR_QUERY = 0x5a; // 'Z': the end of a query's answer
const KEPT = 8; // errors remembered for the runner to claim; it asks right after the query failed

interface SeenError {
  code: string;
  message: string;
  completed: number; // statements of its query that completed before it
}

/**
 * Fed every chunk the server sends once the session is established (so it starts at a message boundary), it
 * counts CommandComplete messages per query and notes the count at each ErrorResponse. Each message is skipped by
 * its length; only an error's fields are read.
 */
export class StatementWatch {
  private header = Buffer.alloc(5);
  private headerFill = 0;
  private type = 0;
  private remaining = 0; // bytes of the current message's body still to come
  private body: Buffer[] | undefined; // an error's body, collected
  private completed = 0;
  private errors: SeenError[] = [];

  feed(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.remaining === 0 && this.body === undefined) {
        const take = Math.min(5 - this.headerFill, chunk.length - i);
        chunk.copy(this.header, this.headerFill, i, i + take);
        this.headerFill += take;
        i += take;
        if (this.headerFill < 5) return;
        this.headerFill = 0;
        this.startMessage(this.header[0], this.header.readUInt32BE(1) - 4);
        continue;
      }
      const take = Math.min(this.remaining, chunk.length - i);
      this.body?.push(chunk.subarray(i, i + take));
      this.remaining -= take;
      i += take;
      if (this.remaining === 0) this.endMessage();
    }
  }

  /**
   * How many statements of the failed query completed before the latest error with this SQLSTATE and message (an
   * earlier attempt may have failed alike); undefined when none such was seen. Forgets every error seen so far.
   */
  completedBefore(code: string, message: string): number | undefined {
    const seen = [...this.errors].reverse().find((e) => e.code === code && e.message === message);
    this.errors = [];
    return seen?.completed;
  }

  private startMessage(type: number, length: number): void {
    this.type = type;
    this.remaining = length;
    if (type === ERROR_RESPONSE) this.body = [];
    if (length === 0) this.endMessage();
  }

  private endMessage(): void {
    if (this.type === COMMAND_COMPLETE) this.completed += 1;
    if (this.type === READY_FOR_QUERY) this.completed = 0;
    if (this.body) {
      this.errors.push({ ...readErrorFields(Buffer.concat(this.body)), completed: this.completed });
      if (this.errors.length > KEPT) this.errors.shift();
      this.body = undefined;
    }
  }
}

/** An ErrorResponse body: field type bytes each followed by a NUL-terminated string; C is the SQLSTATE, M the message. */
function readErrorFields(body: Buffer): { code: string; message: string } {
  const fields: Record<string, string> = {};
  let i = 0;
  while (i < body.length && body[i] !== 0) {
    const end = body.indexOf(0, i + 1);
    if (end === -1) break;
    fields[String.fromCharCode(body[i])] = body.toString('utf8', i + 1, end);
    i = end + 1;
  }
  return { code: fields.C ?? '', message: fields.M ?? '' };
}
