/**
 * The kernel's own BTF (`/sys/kernel/btf/vmlinux`), read as data: which id a
 * function has (a tracing program names the one it runs for by it), and
 * where a member of a kernel struct lies and how big it is, followed through
 * nested and anonymous structs and unions, so that a program reads a field
 * where this build of the kernel keeps it, not where another's did. Only
 * what those questions need is decoded (`Documentation/bpf/btf.rst`).
 *
 * @module
 */
import { cString, cText } from "../options/mod.ts";

/** `BTF_KIND_*`, as `<linux/btf.h>` numbers them. */
export const BTF_KINDS = {
  BTF_KIND_INT: 1,
  BTF_KIND_PTR: 2,
  BTF_KIND_ARRAY: 3,
  BTF_KIND_STRUCT: 4,
  BTF_KIND_UNION: 5,
  BTF_KIND_ENUM: 6,
  BTF_KIND_FWD: 7,
  BTF_KIND_TYPEDEF: 8,
  BTF_KIND_VOLATILE: 9,
  BTF_KIND_CONST: 10,
  BTF_KIND_RESTRICT: 11,
  BTF_KIND_FUNC: 12,
  BTF_KIND_FUNC_PROTO: 13,
  BTF_KIND_VAR: 14,
  BTF_KIND_DATASEC: 15,
  BTF_KIND_FLOAT: 16,
  BTF_KIND_DECL_TAG: 17,
  BTF_KIND_TYPE_TAG: 18,
  BTF_KIND_ENUM64: 19,
} as const;
const K = BTF_KINDS;
/** `BTF_MAGIC`. */
export const BTF_MAGIC = 0xeb9f;
/** `struct btf_type`: name_off, info, size or type. */
const TYPE_BYTES = 12;
/** What follows a type's `struct btf_type`, by kind: a fixed part, and a part for each of its `vlen` items. */
const TRAILING: Readonly<Record<number, readonly [fixed: number, each: number]>> = {
  [K.BTF_KIND_INT]: [4, 0],
  [K.BTF_KIND_ARRAY]: [12, 0],
  [K.BTF_KIND_STRUCT]: [0, 12],
  [K.BTF_KIND_UNION]: [0, 12],
  [K.BTF_KIND_ENUM]: [0, 8],
  [K.BTF_KIND_FUNC_PROTO]: [0, 8],
  [K.BTF_KIND_VAR]: [4, 0],
  [K.BTF_KIND_DATASEC]: [0, 12],
  [K.BTF_KIND_DECL_TAG]: [4, 0],
  [K.BTF_KIND_ENUM64]: [0, 12],
};
/** {@linkcode TRAILING} by kind, for the one loop over every type (150,000 of them): -1 for a kind not known. */
const FIXED = new Int32Array(32).fill(-1);
const EACH = new Int32Array(32);
for (let kind = 1; kind <= K.BTF_KIND_ENUM64; kind++) [FIXED[kind], EACH[kind]] = TRAILING[kind] ?? [0, 0];
/** What a qualifier or typedef stands for is the type it names. */
const SEE_THROUGH: ReadonlySet<number> = new Set([
  K.BTF_KIND_TYPEDEF,
  K.BTF_KIND_VOLATILE,
  K.BTF_KIND_CONST,
  K.BTF_KIND_RESTRICT,
  K.BTF_KIND_TYPE_TAG,
]);

/** A member found: where it lies in the outermost struct, and its size, in bytes. */
export interface Member {
  readonly offset: number;
  readonly bytes: number;
}

/** A kernel's BTF, indexed: each type by id (1 up; 0 is void). */
export interface Btf {
  /** The id of the type of this kind with this name; `undefined` if there is none. */
  idOf(kind: number, name: string): number | undefined;
  /**
   * Where a member lies, by a path from a struct: `"sock.sk_cgrp_data.cgroup"`, members of anonymous structs and
   * unions found as C finds them.
   *
   * @throws {Error} Naming the struct or the member that is not there, or a bitfield.
   */
  member(path: string): Member;
  /** A function's parameters, by name, in order (a tracing program's context holds each in 8 bytes). */
  parameters(functionId: number): string[];
  /** The value of an enumerator, in whichever enum has it; `undefined` if none has. */
  enumerator(name: string): number | undefined;
}

/**
 * Indexes BTF: its header and types, and reads what {@linkcode Btf} asks of them.
 *
 * @param bytes The whole of `/sys/kernel/btf/vmlinux`.
 * @returns The index.
 * @throws {Error} If it is not BTF (its magic), or a type of a kind this reader does not know.
 */
export function readBtf(bytes: Uint8Array): Btf {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 24 || view.getUint16(0, true) !== BTF_MAGIC) {
    throw new Error(`not BTF: no magic 0x${BTF_MAGIC.toString(16)} at the start`);
  }
  const headerBytes = view.getUint32(4, true);
  const typesAt = headerBytes + view.getUint32(8, true);
  const typesEnd = typesAt + view.getUint32(12, true);
  const stringsAt = headerBytes + view.getUint32(16, true);
  // Each type's place and kind, by id (id 0 is void); a type takes 12 bytes at least.
  const most = Math.floor((typesEnd - typesAt) / TYPE_BYTES) + 2;
  const places = new Uint32Array(most);
  const kinds = new Uint8Array(most);
  let count = 1;
  for (let at = typesAt; at < typesEnd; count++) {
    places[count] = at;
    const info = view.getUint32(at + 4, true);
    const kind = kinds[count] = info >>> 24 & 0x1f;
    if (FIXED[kind]! < 0) throw new Error(`BTF type ${count} has kind ${kind}, which this reader does not know`);
    at += TYPE_BYTES + FIXED[kind]! + EACH[kind]! * (info & 0xffff);
  }
  const offsets = places.subarray(0, count);
  const type = (id: number) => {
    const at = offsets[id];
    if (at === undefined || id === 0) throw new Error(`BTF has no type ${id}`);
    const info = view.getUint32(at + 4, true);
    return { at, kind: info >>> 24 & 0x1f, vlen: info & 0xffff, bitfields: info >>> 31 === 1 };
  };
  const nameAt = (offset: number) => stringsAt + offset;
  const nameIs = (offset: number, wanted: Uint8Array) => {
    const at = nameAt(offset);
    for (let i = 0; i < wanted.length; i++) if (bytes[at + i] !== wanted[i]) return false;
    return bytes[at + wanted.length] === 0;
  };
  const nameOf = (offset: number) => cText(bytes.subarray(nameAt(offset)));
  // Runtime-free: a name as its UTF-8 bytes, without the NUL.
  const encoder = { encode: (name: string) => cString(name).subarray(0, -1) };
  /** The type a typedef or qualifier names, through every one of them. */
  const resolved = (id: number) => {
    let t = type(id);
    while (SEE_THROUGH.has(t.kind)) t = type(id = view.getUint32(t.at + 8, true));
    return { id, ...t };
  };
  const sizeOf = (id: number): number => {
    const t = resolved(id);
    if (t.kind === K.BTF_KIND_PTR) return 8;
    if (t.kind === K.BTF_KIND_ARRAY) {
      return sizeOf(view.getUint32(t.at + TYPE_BYTES + 4, true)) * view.getUint32(t.at + TYPE_BYTES + 8, true);
    }
    return view.getUint32(t.at + 8, true);
  };
  /** A member of a struct or union by name, in anonymous members too: its type and bit offset. */
  const find = (id: number, wanted: Uint8Array): { type: number; bits: number } | undefined => {
    const t = resolved(id);
    if (t.kind !== K.BTF_KIND_STRUCT && t.kind !== K.BTF_KIND_UNION) return undefined;
    for (let i = 0; i < t.vlen; i++) {
      const at = t.at + TYPE_BYTES + 12 * i;
      const name = view.getUint32(at, true);
      const memberType = view.getUint32(at + 4, true);
      const raw = view.getUint32(at + 8, true);
      const bits = t.bitfields ? raw & 0xffffff : raw;
      if (t.bitfields && raw >>> 24 !== 0 && name !== 0 && nameIs(name, wanted)) {
        throw new Error(`${cText(wanted)} is a bitfield, which a load cannot read whole`);
      }
      if (name !== 0 && nameIs(name, wanted)) return { type: memberType, bits };
      if (name === 0) {
        const inner = find(memberType, wanted);
        if (inner) return { type: inner.type, bits: bits + inner.bits };
      }
    }
    return undefined;
  };
  const idOf = (kind: number, name: string) => {
    const wanted = encoder.encode(name);
    for (let id = 1; id < offsets.length; id++) {
      if (kinds[id] === kind && nameIs(view.getUint32(offsets[id]!, true), wanted)) return id;
    }
    return undefined;
  };
  const structs = new Map<string, number | undefined>();
  return {
    idOf,
    member(path) {
      const [structName = "", ...names] = path.split(".");
      if (!structs.has(structName)) structs.set(structName, idOf(K.BTF_KIND_STRUCT, structName));
      let id = structs.get(structName);
      if (id === undefined) throw new Error(`the kernel's BTF has no struct ${structName}`);
      let bits = 0;
      let walked = structName;
      for (const name of names) {
        const found = find(id, encoder.encode(name));
        if (!found) throw new Error(`the kernel's BTF has no member ${name} in ${walked} (struct ${structName})`);
        bits += found.bits;
        id = found.type;
        walked += `.${name}`;
      }
      if (bits % 8 !== 0) throw new Error(`${path} does not start on a byte`);
      return { offset: bits / 8, bytes: sizeOf(id) };
    },
    parameters(functionId) {
      const fn = type(functionId);
      const proto = type(view.getUint32(fn.at + 8, true));
      return Array.from({ length: proto.vlen }, (_, i) => nameOf(view.getUint32(proto.at + TYPE_BYTES + 8 * i, true)));
    },
    enumerator(name) {
      const wanted = encoder.encode(name);
      for (let id = 1; id < offsets.length; id++) {
        if (kinds[id] !== K.BTF_KIND_ENUM) continue;
        const t = type(id);
        for (let i = 0; i < t.vlen; i++) {
          const at = t.at + TYPE_BYTES + 8 * i;
          if (nameIs(view.getUint32(at, true), wanted)) return view.getInt32(at + 4, true);
        }
      }
      return undefined;
    },
  };
}
