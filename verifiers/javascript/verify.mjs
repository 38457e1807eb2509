#!/usr/bin/env node
// An independent verifier of the aireg event log, written from docs/audit.md alone (none of aireg's code):
// RFC 8785 canonical JSON from the npm package `canonicalize`, SHA-256 and Ed25519 from node's crypto, the
// records from the topics (kafkajs) or from an offline bundle (`aireg audit export`, read with adm-zip).
//
//   node verify.mjs --bundle FILE [--keys DIR]
//   node verify.mjs --bootstrap HOST:PORT [--namespace PREFIX] --keys DIR
//
// Prints a JSON report {ok, records, producers, faults: [{producer, log_position, kind, detail}]} and
// exits 0 only if every chain holds; 2 on a usage error.

import { createHash, createPublicKey, verify as verifySignature } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import AdmZip from 'adm-zip';
import canonicalize from 'canonicalize';
import kafkajs from 'kafkajs';

const PRODUCERS = ['submission', 'analysis'];
const GENESIS_HASH = '0'.repeat(64);
const sha256 = (data) => createHash('sha256').update(data).digest('hex');

function parseArguments (argv) {
  const options = { namespace: '' };
  for (let index = 0; index < argv.length; index += 2) {
    const [name, value] = [argv[index], argv[index + 1]];
    if (!name.startsWith('--') || value === undefined) throw new Error(`unexpected argument ${name}`);
    options[name.slice(2)] = value;
  }
  if (!options.bundle && !options.bootstrap) throw new Error('give --bundle FILE or --bootstrap HOST:PORT');
  if (!options.bundle && !options.keys) throw new Error('give --keys DIR (the producers\' public keys)');
  return options;
}

// A key's id: the first 16 hex digits of the SHA-256 of its 32 raw public bytes (docs/audit.md, "Keys").
function publicKey (pem) {
  const key = createPublicKey(pem);
  const raw = key.export({ format: 'der', type: 'spki' }).subarray(-32);
  return { key, id: sha256(raw).slice(0, 16) };
}

function keysFromFolder (folder) {
  const keys = {};
  for (const name of readdirSync(folder)) {
    const producer = PRODUCERS.find((p) => name === `${p}.pub` || (name.startsWith(`${p}.`) && name.endsWith('.pub')));
    if (producer) (keys[producer] ??= []).push(publicKey(readFileSync(join(folder, name))));
  }
  return keys;
}

// The bundle: manifest.json lists each part with its SHA-256; records/<producer>.jsonl holds one record a
// line, {partition, offset, key, value}, key and value in base64, exactly as the broker gave them.
function readBundle (file) {
  const zip = new AdmZip(file);
  const manifest = JSON.parse(zip.readAsText('manifest.json'));
  if (manifest.format !== 'aireg-audit-bundle/1') throw new Error(`not an audit bundle: ${manifest.format}`);
  const faults = [];
  const records = [];
  const keys = {};
  for (const part of manifest.parts) {
    const data = zip.readFile(part.path);
    if (data === null) {
      faults.push(fault('bundle', 0, 'bundle_mismatch', `${part.path} is missing`));
      continue;
    }
    if (sha256(data) !== part.sha256) {
      faults.push(fault('bundle', 0, 'bundle_mismatch', `${part.path} does not match its SHA-256 in the manifest`));
    }
    if (part.kind === 'public_key') (keys[part.producer] ??= []).push(publicKey(data));
    if (part.kind === 'records') {
      for (const line of data.toString('utf8').split('\n')) {
        if (!line) continue;
        const item = JSON.parse(line);
        records.push({ topic: part.topic, partition: item.partition, offset: item.offset, value: Buffer.from(item.value, 'base64') });
      }
    }
  }
  return { records, keys, faults, topics: manifest.topics };
}

// The topics, from offset 0, until they have been idle for a while (a consumer group of its own that
// commits nothing: kafkajs has no group-less consumer).
async function readTopics (bootstrap, namespace) {
  const topics = Object.fromEntries(PRODUCERS.map((p) => [p, `${namespace}aireg.${p}.v1`]));
  const kafka = new kafkajs.Kafka({ clientId: 'aireg-js-verifier', brokers: bootstrap.split(','), logLevel: kafkajs.logLevel.ERROR });
  const consumer = kafka.consumer({ groupId: `aireg-js-verifier-${Date.now()}-${process.pid}`, sessionTimeout: 10000, heartbeatInterval: 500 });
  const records = [];
  let last = Date.now();
  await consumer.connect();
  await consumer.subscribe({ topics: Object.values(topics), fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ topic, partition, message }) => {
      records.push({ topic, partition, offset: Number(message.offset), value: message.value });
      last = Date.now();
    }
  });
  const started = Date.now();
  while (Date.now() - last < 3000 || (records.length === 0 && Date.now() - started < 30000)) {
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  await consumer.disconnect();
  return { records, topics };
}

function fault (producer, position, kind, detail) {
  return { producer, log_position: position, kind, detail };
}

// Every record: its hash is the SHA-256 of the RFC 8785 form of every envelope field but `hash`.
function verifyRecords (records, topics, keys) {
  const producerOf = Object.fromEntries(Object.entries(topics).map(([p, t]) => [t, p]));
  const faults = [];
  const byPosition = Object.fromEntries(PRODUCERS.map((p) => [p, new Map()]));
  for (const record of records) {
    const producer = producerOf[record.topic];
    let envelope;
    try {
      envelope = JSON.parse(record.value.toString('utf8'));
    } catch (error) {
      faults.push(fault(producer, 0, 'unparseable', `${record.topic}[${record.partition}]@${record.offset}: ${error.message}`));
      continue;
    }
    const { hash, ...content } = envelope;
    const position = envelope.log_position;
    const recomputed = sha256(canonicalize(content));
    if (recomputed !== hash) faults.push(fault(producer, position, 'tampered', `event ${envelope.event_id} fails its hash`));
    if (envelope.producer !== producer) faults.push(fault(producer, position, 'wrong_producer', `event of ${envelope.producer}`));
    const seen = byPosition[producer].get(position);
    if (seen === undefined) byPosition[producer].set(position, envelope);
    else if (seen.hash !== hash || recomputed !== hash) faults.push(fault(producer, position, 'duplicated', 'position read twice with different content'));
  }
  const producers = {};
  for (const producer of PRODUCERS) {
    const events = byPosition[producer];
    const head = events.size ? Math.max(...events.keys()) : 0;
    let previous = GENESIS_HASH;
    const versions = new Map();
    let checkpoints = 0;
    for (let position = 1; position <= head; position += 1) {
      const envelope = events.get(position);
      if (envelope === undefined) {
        faults.push(fault(producer, position, 'missing', 'no event at this position'));
        previous = null;
        continue;
      }
      if (previous !== null && envelope.prev_hash !== previous) faults.push(fault(producer, position, 'broken_link', 'prev_hash is not the previous event\'s hash'));
      const expected = (versions.get(envelope.stream_id) ?? 0) + 1;
      if (envelope.stream_version !== expected) faults.push(fault(producer, position, 'stream_gap', `stream ${envelope.stream_id} at version ${envelope.stream_version}, expected ${expected}`));
      versions.set(envelope.stream_id, Math.max(expected, envelope.stream_version));
      if (envelope.event_type === 'ChainCheckpoint') {
        const problem = checkpointProblem(producer, position, envelope.payload, events, keys[producer] ?? []);
        if (problem) faults.push(fault(producer, position, 'forged_checkpoint', problem));
        else checkpoints += 1;
      }
      previous = envelope.hash;
    }
    producers[producer] = { events: events.size, head_position: head, head_hash: head ? events.get(head)?.hash ?? null : GENESIS_HASH, checkpoints_verified: checkpoints };
  }
  faults.sort((a, b) => a.producer.localeCompare(b.producer) || a.log_position - b.log_position || a.kind.localeCompare(b.kind));
  return { ok: faults.length === 0, records: records.length, producers, faults };
}

// A checkpoint signs, with Ed25519, the RFC 8785 form of {producer, head_position, head_hash, signed_at}.
function checkpointProblem (producer, position, payload, events, keys) {
  const key = keys.find((candidate) => candidate.id === payload.key_id);
  if (!key) return `signed with key ${payload.key_id}, none of the keys given for ${producer}`;
  if (payload.chain_producer !== producer) return `checkpoint of ${payload.chain_producer}`;
  const message = canonicalize({ producer, head_position: payload.head_position, head_hash: payload.head_hash, signed_at: payload.signed_at });
  if (!verifySignature(null, Buffer.from(message, 'utf8'), key.key, Buffer.from(payload.signature, 'base64'))) return 'signature does not verify';
  const head = events.get(payload.head_position);
  if (payload.head_position >= position || !head || head.hash !== payload.head_hash) return `signed head ${payload.head_position} does not match the log`;
  return null;
}

async function main () {
  let options;
  try {
    options = parseArguments(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  let source;
  if (options.bundle) {
    source = readBundle(options.bundle);
    if (options.keys) source.keys = keysFromFolder(options.keys);
  } else {
    source = { ...(await readTopics(options.bootstrap, options.namespace)), keys: keysFromFolder(options.keys), faults: [] };
  }
  const report = verifyRecords(source.records, source.topics, source.keys);
  report.faults = [...source.faults, ...report.faults];
  report.ok = report.faults.length === 0;
  report.key_ids = Object.fromEntries(Object.entries(source.keys).map(([p, ks]) => [p, ks.map((k) => k.id)]));
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  process.exit(report.ok ? 0 : 1);
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(2);
});
