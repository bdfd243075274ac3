/**
 * A seeded workload that behaves like the ERP: it overwrites records all the time (inventory
 * levels, order status, prices), creates orders with their lines in one transaction, cancels and
 * purges, deletes and occasionally re-inserts a previously deleted key. Every business event is one
 * source transaction (one LSN); many transactions are sent per round trip.
 *
 * Deterministic for a seed given the same starting state: the PRNG is seeded, the starting state is
 * read in key order, and with `startTime` the source clock is simulated too (then the change
 * tables, including times, are identical across runs).
 */
import type { SqlDriver } from '../db/driver';
import { normalizeLsn, ZERO_LSN } from '../../lib/lsn';
import { changeTableSql, sqlLiteral } from './cdc-schema';
import { CAPTURE_INSTANCES } from './erp-schema';

export interface SimulateOptions {
  /** Change rows to produce, counted as the pipeline sees them with 'all' (an update = 1). */
  readonly changes: number;
  readonly seed: number;
  /** Called after every round trip with the changes done so far. */
  readonly onProgress?: (done: number) => void;
  /**
   * Simulate the source clock from this instant (SYSDATETIME(), ModifiedAt, lsn_time_mapping)
   * instead of using the real clock. Must be after the source's last commit time.
   */
  readonly startTime?: Date;
  /** Mean simulated milliseconds between two transactions (default 1500; only with startTime). */
  readonly tickMs?: number;
  /** Transactions sent per round trip (default 100). */
  readonly transactionsPerRoundTrip?: number;
}

export interface TableActivity {
  inserts: number;
  updates: number;
  deletes: number;
}

export interface SimulationResult {
  /** Source transactions (LSNs) written. */
  readonly transactions: number;
  /** Change rows as seen with 'all' (inserts + updates + deletes). */
  readonly changes: number;
  /** Per capture instance, counted from the change tables. */
  readonly byTable: Record<string, TableActivity>;
  /** LSN range written, or null when nothing was written. */
  readonly firstLsn: string | null;
  readonly lastLsn: string | null;
  /** With startTime: the simulated instant after the last transaction (pass it as the next startTime). */
  readonly nextStartTime?: Date;
}

// ---------------------------------------------------------------------------------------------
// PRNG and value helpers

/** mulberry32: small, fast, good enough for a workload, identical on every platform. */
export function mulberry32(seed: number): () => number {
  let a = Math.floor(seed) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Rng {
  private readonly next: () => number;
  constructor(seed: number) {
    // mix the seed so that nearby seeds give unrelated streams
    const s = Math.floor(seed);
    this.next = mulberry32((Math.imul(s ^ (s >>> 16), 0x45d9f3b) ^ Math.imul(Math.floor(s / 4294967296), 0x27d4eb2d)) >>> 0);
  }
  float(): number {
    return this.next();
  }
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }
  /** Up to n distinct items, in pick order. */
  sample<T>(items: readonly T[], n: number): T[] {
    const idx = items.map((_, i) => i);
    const out: T[] = [];
    for (let i = 0; i < Math.min(n, items.length); i++) {
      const j = i + Math.floor(this.next() * (idx.length - i));
      const a = idx[i] as number;
      const b = idx[j] as number;
      idx[i] = b;
      idx[j] = a;
      out.push(items[b] as T);
    }
    return out;
  }
  weighted<K extends string>(weights: Readonly<Record<K, number>>): K {
    const entries = Object.entries(weights) as [K, number][];
    const total = entries.reduce((s, [, w]) => s + w, 0);
    let x = this.next() * total;
    for (const [k, w] of entries) {
      x -= w;
      if (x < 0) return k;
    }
    const last = entries[entries.length - 1];
    if (!last) throw new Error('no weights');
    return last[0];
  }
}

/** Fixed-scale decimal text of an integer number of 10^-scale units: fmt(12345n, 4) = '1.2345'. */
function fmt(units: bigint, scale: number): string {
  const neg = units < 0n;
  const s = (neg ? -units : units).toString().padStart(scale + 1, '0');
  const text = scale === 0 ? s : `${s.slice(0, s.length - scale)}.${s.slice(s.length - scale)}`;
  return neg ? `-${text}` : text;
}

/** Parses fixed-scale decimal text into 10^-scale units. */
function units(text: string, scale: number): bigint {
  const [whole = '0', frac = ''] = text.split('.');
  return BigInt(`${whole}${frac.padEnd(scale, '0').slice(0, scale)}`);
}

const SCALE4 = 10000n;

// ---------------------------------------------------------------------------------------------
// the ERP's world

const REGIONS = ['IL', 'TX', 'OH', 'MI', 'IN', 'WI', 'GA', 'CA', 'PA', 'MN'] as const;
const LOCATIONS = ['CHI-A01', 'CHI-A02', 'CHI-B07', 'CHI-C14', 'HOU-B12', 'HOU-B13', 'CLE-A03', 'ATL-D04', 'LAX-E09', 'MIN-F02'] as const;
const NAME_FIRST = [
  'Great Lakes', 'Midwest', 'Prairie', "O'Brien", 'Lone Star', 'Gulf Coast', 'Keystone', 'Badger', 'Peach State',
  'Müller', 'Señor', 'North Shore', 'Riverside', 'Summit', 'Ironwood', 'Blue Ridge', 'Cascade', 'Heartland',
] as const;
const NAME_LAST = [
  'Fabrication', 'Welding', 'Machine Works', 'Stahlbau GmbH', 'Metales S.A.', 'Tool & Die', 'Structural Steel',
  'Marine Services', 'Trailer Co.', 'Ag Equipment', 'HVAC Supply', 'Precision Parts',
] as const;

type Family = 'carbon' | 'stainless' | 'aluminum' | 'copper';
const GRADES: readonly { grade: string; family: Family }[] = [
  { grade: '304', family: 'stainless' },
  { grade: '304L', family: 'stainless' },
  { grade: '316L', family: 'stainless' },
  { grade: '2205', family: 'stainless' },
  { grade: '6061-T6', family: 'aluminum' },
  { grade: '5052-H32', family: 'aluminum' },
  { grade: '3003-H14', family: 'aluminum' },
  { grade: 'A36', family: 'carbon' },
  { grade: 'A572-50', family: 'carbon' },
  { grade: '1018', family: 'carbon' },
  { grade: '4140', family: 'carbon' },
  { grade: 'C110', family: 'copper' },
];
const DENSITY: Record<Family, number> = { carbon: 0.2836, stainless: 0.289, aluminum: 0.0975, copper: 0.323 };
const PRICE_PER_LB: Record<Family, [number, number]> = {
  carbon: [0.55, 1.2],
  stainless: [2.4, 4.6],
  aluminum: [2.8, 5.2],
  copper: [5.0, 8.5],
};
const FORMS = ['SHEET', 'PLATE', 'BAR', 'TUBE', 'COIL', 'ANGLE'] as const;
type Form = (typeof FORMS)[number];
const NEXT_STATUS: Record<OrderStatus, OrderStatus | 'I'> = { N: 'A', A: 'P', P: 'S', S: 'I' };
type OrderStatus = 'N' | 'A' | 'P' | 'S';

interface Customer {
  id: number;
  active: boolean;
  email: string | null;
  creditCents: bigint;
}
interface Product {
  id: number;
  price: bigint;
}
interface InventoryRow {
  id: number;
  productId: number;
  location: string;
  onHand: bigint;
  allocated: bigint;
}
interface OpenOrder {
  id: number;
  status: OrderStatus;
  customerId: number;
  lines: number;
}

interface World {
  customers: Customer[];
  products: Product[];
  inventory: InventoryRow[];
  openOrders: OpenOrder[];
  cancelledOrders: number[];
  deletedCustomers: number[];
  deletedInventory: { id: number; productId: number; location: string }[];
  nextCustomerId: number;
  nextProductId: number;
  nextInventoryId: number;
  nextOrderId: number;
}

type Counts = Record<string, TableActivity>;

function emptyCounts(): Counts {
  return Object.fromEntries(CAPTURE_INSTANCES.map((ci) => [ci, { inserts: 0, updates: 0, deletes: 0 }]));
}

/** One business event = one source transaction. */
interface Txn {
  readonly statements: string[];
  changes: number;
  readonly counts: Counts;
  /**
   * The emulation numbers this transaction's __$seqval downwards while __$command_id counts up
   * (cdc.seqval_order = 'reverse'): only command id order is the order its statements ran in.
   */
  seqvalReversed?: boolean;
}

const NOW = 'sys.sysdatetime()';

function removeAt<T>(items: T[], index: number): void {
  items.splice(index, 1);
}

class Workload {
  constructor(
    private readonly rng: Rng,
    private readonly w: World,
  ) {}

  private txn(): Txn {
    return { statements: [], changes: 0, counts: emptyCounts() };
  }

  private count(t: Txn, ci: string, kind: keyof TableActivity, n: number): void {
    const c = t.counts[ci];
    if (!c) throw new Error(`unknown capture instance ${ci}`);
    c[kind] += n;
    t.changes += n;
  }

  // ----- value generators

  private customerValues(id: number): { sql: string; c: Customer } {
    const name = `${this.rng.pick(NAME_FIRST)} ${this.rng.pick(NAME_LAST)}`;
    const slug = name.toLowerCase().replace(/[^a-z]+/g, '');
    const email = this.rng.chance(0.3) ? null : `purchasing${id}@${slug}.example.com`;
    const creditCents = BigInt(this.rng.int(50, 5000)) * 10000n + BigInt(this.rng.chance(0.2) ? this.rng.int(1, 99) : 0);
    const c: Customer = { id, active: true, email, creditCents };
    const sql =
      `(${id}, ${sqlLiteral(`C${String(id).padStart(6, '0')}`)}, ${sqlLiteral(name)}, ${email === null ? 'NULL' : sqlLiteral(email)}, ` +
      `${fmt(creditCents, 2)}, ${sqlLiteral(this.rng.pick(REGIONS))}, true, ${NOW})`;
    return { sql, c };
  }

  private productValues(id: number): { sql: string; p: Product } {
    const { grade, family } = this.rng.pick(GRADES);
    const form: Form = this.rng.pick(FORMS);
    const gauges = [0.0299, 0.0359, 0.0478, 0.0598, 0.0747, 0.1046, 0.1345, 0.1875];
    let t: number;
    let w: number | null;
    let l: number | null;
    let volume: number;
    switch (form) {
      case 'SHEET':
        t = this.rng.pick(gauges);
        w = this.rng.pick([36, 48, 60]);
        l = this.rng.pick([96, 120, 144]);
        volume = t * w * l;
        break;
      case 'PLATE':
        t = this.rng.pick([0.25, 0.375, 0.5, 0.75, 1, 1.5, 2]);
        w = this.rng.pick([48, 60, 72, 96]);
        l = this.rng.pick([96, 120, 144, 240]);
        volume = t * w * l;
        break;
      case 'BAR':
        t = this.rng.pick([0.5, 0.75, 1, 1.25, 2, 3]);
        w = null;
        l = this.rng.pick([144, 240]);
        volume = (Math.PI / 4) * t * t * l;
        break;
      case 'TUBE':
        t = this.rng.pick([0.049, 0.065, 0.083, 0.12, 0.25]);
        w = this.rng.pick([0.75, 1, 1.5, 2, 3, 4]);
        l = 240;
        volume = Math.PI * (w - t) * t * l;
        break;
      case 'COIL':
        t = this.rng.pick(gauges);
        w = this.rng.pick([36, 48, 60]);
        l = null;
        volume = t * w * this.rng.int(3000, 12000);
        break;
      case 'ANGLE':
        t = this.rng.pick([0.125, 0.1875, 0.25, 0.375, 0.5]);
        w = this.rng.pick([1, 1.5, 2, 3, 4]);
        l = this.rng.pick([240, 288]);
        volume = (2 * w - t) * t * l;
        break;
    }
    const weight = BigInt(Math.round(volume * DENSITY[family] * 10000));
    const [lo, hi] = PRICE_PER_LB[family];
    const perLb = BigInt(Math.round((lo + (hi - lo) * this.rng.float()) * 10000));
    const price = (weight * perLb) / SCALE4 + 1n;
    const dim = (v: number | null): string => (v === null ? 'NULL' : fmt(BigInt(Math.round(v * 10000)), 4));
    const sku = `${grade}-${form}-${String(id).padStart(6, '0')}`;
    const sql =
      `(${id}, ${sqlLiteral(sku)}, ${sqlLiteral(grade)}, ${sqlLiteral(form)}, ${dim(t)}, ${dim(w)}, ${dim(l)}, ` +
      `${fmt(weight, 4)}, ${fmt(price, 4)}, ${NOW})`;
    return { sql, p: { id, price } };
  }

  private qty(): bigint {
    return BigInt(this.rng.int(1, 400)) * SCALE4 + (this.rng.chance(0.5) ? BigInt(this.rng.int(1, 9999)) : 0n);
  }

  private inventoryValues(id: number, productId: number, location: string): { sql: string; r: InventoryRow } {
    const onHand = BigInt(this.rng.int(0, 2000)) * SCALE4 + BigInt(this.rng.int(0, 9999));
    const r: InventoryRow = { id, productId, location, onHand, allocated: 0n };
    return { sql: `(${id}, ${productId}, ${sqlLiteral(location)}, ${fmt(onHand, 4)}, 0.0000, ${NOW})`, r };
  }

  // ----- seeding (first run on an empty ERP)

  seed(target: number, empty: { customers: boolean; products: boolean; inventory: boolean }): Txn[] {
    const out: Txn[] = [];
    const clamp = (v: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, Math.round(v)));
    if (empty.customers) {
      const t = this.txn();
      const rows: string[] = [];
      for (let i = 0; i < clamp(target * 0.01, 5, 200); i++) {
        const { sql, c } = this.customerValues(this.w.nextCustomerId++);
        rows.push(sql);
        this.w.customers.push(c);
      }
      t.statements.push(
        `INSERT INTO dbo."Customers" ("CustomerID", "CustomerCode", "Name", "Email", "CreditLimit", "Region", "IsActive", "ModifiedAt") VALUES\n${rows.join(',\n')};`,
      );
      this.count(t, 'dbo_Customers', 'inserts', rows.length);
      out.push(t);
    }
    if (empty.products) {
      const t = this.txn();
      const rows: string[] = [];
      for (let i = 0; i < clamp(target * 0.015, 8, 300); i++) {
        const { sql, p } = this.productValues(this.w.nextProductId++);
        rows.push(sql);
        this.w.products.push(p);
      }
      t.statements.push(`${PRODUCT_INSERT}\n${rows.join(',\n')};`);
      this.count(t, 'dbo_Products', 'inserts', rows.length);
      out.push(t);
    }
    if (empty.inventory && this.w.products.length > 0) {
      const t = this.txn();
      const rows: string[] = [];
      for (const p of this.w.products) {
        for (const location of this.rng.sample(LOCATIONS, 2)) {
          const { sql, r } = this.inventoryValues(this.w.nextInventoryId++, p.id, location);
          rows.push(sql);
          this.w.inventory.push(r);
        }
      }
      t.statements.push(`${INVENTORY_INSERT}\n${rows.join(',\n')};`);
      this.count(t, 'dbo_Inventory', 'inserts', rows.length);
      out.push(t);
    }
    return out;
  }

  // ----- business events

  next(remaining: number): Txn {
    const kind = this.rng.weighted({
      inventoryAdjust: 27,
      statusAdvance: 21,
      newOrder: 19,
      priceChange: 7,
      customerChange: 6,
      editOrderLine: 5,
      cancelOrder: 4,
      newCustomer: 2.5,
      newProduct: 2.5,
      discontinueInventory: 2.5,
      reinsert: 2,
      purgeCancelled: 1.5,
      deleteCustomer: 1.2,
      discontinueProduct: 0.8,
    });
    // every event checks that it fits in `remaining` before it touches the model
    const t = this.event(kind, remaining) ?? this.inventoryAdjust(remaining);
    if (t.changes < 1 || t.changes > remaining) throw new Error(`simulator bug: ${kind} made ${t.changes} changes with ${remaining} left`);
    return t;
  }

  private event(kind: string, remaining: number): Txn | undefined {
    switch (kind) {
      case 'inventoryAdjust':
        return this.inventoryAdjust(remaining);
      case 'statusAdvance':
        return this.statusAdvance(remaining);
      case 'newOrder':
        return remaining >= 3 ? this.newOrder(remaining) : undefined;
      case 'priceChange':
        return this.priceChange(remaining);
      case 'customerChange':
        return this.customerChange(remaining);
      case 'editOrderLine':
        return remaining >= 2 ? this.editOrderLine() : undefined;
      case 'cancelOrder':
        return this.cancelOrder(remaining);
      case 'newCustomer':
        return this.newCustomer();
      case 'newProduct':
        return remaining >= 2 ? this.newProduct(remaining) : undefined;
      case 'discontinueInventory':
        return this.discontinueInventory(remaining);
      case 'reinsert':
        return this.reinsert();
      case 'purgeCancelled':
        return this.purgeCancelled();
      case 'deleteCustomer':
        return this.deleteCustomer();
      case 'discontinueProduct':
        return this.discontinueProduct(remaining);
      default:
        return undefined;
    }
  }

  /** Cycle counts, receipts and allocations: a batch of quantity overwrites. */
  private inventoryAdjust(remaining: number): Txn {
    const t = this.txn();
    if (this.w.inventory.length === 0) {
      // nothing to adjust: receive a new stock row instead
      const p = this.w.products[0];
      if (!p) throw new Error('the ERP has no products and no inventory; cannot simulate');
      const { sql, r } = this.inventoryValues(this.w.nextInventoryId++, p.id, this.rng.pick(LOCATIONS));
      this.w.inventory.push(r);
      t.statements.push(`${INVENTORY_INSERT} ${sql};`);
      this.count(t, 'dbo_Inventory', 'inserts', 1);
      return t;
    }
    const rows = this.rng.sample(this.w.inventory, Math.min(remaining, this.rng.int(3, 25)));
    const values = rows.map((r) => {
      const delta = BigInt(this.rng.int(-600, 900)) * SCALE4 + BigInt(this.rng.int(0, 9999));
      r.onHand = r.onHand + delta < 0n ? 0n : r.onHand + delta;
      if (this.rng.chance(0.5)) {
        r.allocated = r.onHand === 0n ? 0n : (r.onHand * BigInt(this.rng.int(0, 90))) / 100n;
      }
      return `(${r.id}, ${fmt(r.onHand, 4)}, ${fmt(r.allocated, 4)})`;
    });
    t.statements.push(
      `UPDATE dbo."Inventory" AS t SET "QtyOnHand" = v.on_hand, "QtyAllocated" = v.allocated, "ModifiedAt" = ${NOW}\n` +
        `FROM (VALUES ${values.join(', ')}) AS v (id, on_hand, allocated) WHERE t."InventoryID" = v.id;`,
    );
    this.count(t, 'dbo_Inventory', 'updates', rows.length);
    return t;
  }

  /** The order workflow N → A → P → S → I for a batch of open orders. */
  private statusAdvance(remaining: number): Txn | undefined {
    if (this.w.openOrders.length === 0) return undefined;
    const t = this.txn();
    const orders = this.rng.sample(this.w.openOrders, Math.min(remaining, this.rng.int(1, 12)));
    const values = orders.map((o) => {
      const next = NEXT_STATUS[o.status];
      if (next === 'I') {
        this.w.openOrders.splice(this.w.openOrders.indexOf(o), 1);
      } else {
        o.status = next;
      }
      return `(${o.id}, '${next}')`;
    });
    t.statements.push(
      `UPDATE dbo."SalesOrders" AS t SET "Status" = v.status, "ModifiedAt" = ${NOW}\n` +
        `FROM (VALUES ${values.join(', ')}) AS v (id, status) WHERE t."OrderID" = v.id;`,
    );
    this.count(t, 'dbo_SalesOrders', 'updates', orders.length);
    return t;
  }

  /** Header, 1-5 lines and the recalculated total, in one transaction. */
  private newOrder(remaining: number): Txn | undefined {
    const active = this.w.customers.filter((c) => c.active);
    if (active.length === 0 || this.w.products.length === 0) return undefined;
    const t = this.txn();
    const customer = this.rng.pick(active);
    const id = this.w.nextOrderId++;
    const lineCount = Math.min(this.rng.int(1, 5), remaining - 2);
    const products = this.rng.sample(this.w.products, lineCount);
    const lines = products.map((p, i) => {
      const price = (p.price * BigInt(this.rng.int(8500, 10000))) / 10000n;
      return `(${id}, ${i + 1}, ${p.id}, ${fmt(this.qty(), 4)}, ${fmt(price, 4)})`;
    });
    t.statements.push(
      `INSERT INTO dbo."SalesOrders" ("OrderID", "OrderNumber", "CustomerID", "Status", "OrderDate", "TotalAmount", "ModifiedAt") ` +
        `VALUES (${id}, 'SO-${String(id).padStart(7, '0')}', ${customer.id}, 'N', CAST(${NOW} AS date), 0, ${NOW});`,
      `INSERT INTO dbo."SalesOrderLines" ("OrderID", "LineNo", "ProductID", "Qty", "UnitPrice") VALUES ${lines.join(', ')};`,
      totalSql(id),
    );
    this.count(t, 'dbo_SalesOrders', 'inserts', 1);
    this.count(t, 'dbo_SalesOrderLines', 'inserts', lines.length);
    this.count(t, 'dbo_SalesOrders', 'updates', 1);
    this.w.openOrders.push({ id, status: 'N', customerId: customer.id, lines: lines.length });
    return t;
  }

  private priceChange(remaining: number): Txn | undefined {
    if (this.w.products.length === 0) return undefined;
    const t = this.txn();
    const products = this.rng.sample(this.w.products, Math.min(remaining, this.rng.int(1, 20)));
    const values = products.map((p) => {
      const next = (p.price * BigInt(this.rng.int(9400, 10900))) / 10000n;
      p.price = next < SCALE4 ? SCALE4 : next;
      return `(${p.id}, ${fmt(p.price, 4)})`;
    });
    t.statements.push(
      `UPDATE dbo."Products" AS t SET "ListPrice" = v.price, "ModifiedAt" = ${NOW}\n` +
        `FROM (VALUES ${values.join(', ')}) AS v (id, price) WHERE t."ProductID" = v.id;`,
    );
    this.count(t, 'dbo_Products', 'updates', products.length);
    if (products.length >= 4 && 2 * products.length <= remaining) {
      // A revaluation: the same transaction then rounds the new prices down to whole cents, and the
      // change table's seqval order disagrees with the order the two statements ran in: a ledger that
      // orders by seqval would show the unrounded price as current.
      const corrected = products.map((p) => {
        p.price = p.price - (p.price % 100n) < SCALE4 ? SCALE4 : p.price - (p.price % 100n);
        return `(${p.id}, ${fmt(p.price, 4)})`;
      });
      t.statements.push(
        `UPDATE dbo."Products" AS t SET "ListPrice" = v.price, "ModifiedAt" = ${NOW}\n` +
          `FROM (VALUES ${corrected.join(', ')}) AS v (id, price) WHERE t."ProductID" = v.id;`,
      );
      this.count(t, 'dbo_Products', 'updates', products.length);
      t.seqvalReversed = true;
    }
    return t;
  }

  /** E-mail changes (to and from NULL), credit limit reviews, deactivations. */
  private customerChange(remaining: number): Txn | undefined {
    if (this.w.customers.length === 0) return undefined;
    const t = this.txn();
    const customers = this.rng.sample(this.w.customers, Math.min(remaining, this.rng.int(1, 3)));
    const values = customers.map((c) => {
      const what = this.rng.int(0, 9);
      if (what < 4) {
        c.email = this.rng.chance(0.25) ? null : `ap${this.rng.int(1, 99)}.c${c.id}@example.com`;
      } else if (what < 9) {
        c.creditCents = (c.creditCents * BigInt(this.rng.int(80, 150))) / 100n;
      } else {
        c.active = !c.active;
      }
      const email = c.email === null ? 'NULL::text' : `${sqlLiteral(c.email)}::text`;
      return `(${c.id}, ${email}, ${fmt(c.creditCents, 2)}, ${c.active})`;
    });
    t.statements.push(
      `UPDATE dbo."Customers" AS t SET "Email" = v.email, "CreditLimit" = v.credit, "IsActive" = v.active, "ModifiedAt" = ${NOW}\n` +
        `FROM (VALUES ${values.join(', ')}) AS v (id, email, credit, active) WHERE t."CustomerID" = v.id;`,
    );
    this.count(t, 'dbo_Customers', 'updates', customers.length);
    return t;
  }

  /** A new order's line quantity changes before approval; the total is recalculated. */
  private editOrderLine(): Txn | undefined {
    const candidates = this.w.openOrders.filter((o) => o.status === 'N' && o.lines > 0);
    if (candidates.length === 0) return undefined;
    const o = this.rng.pick(candidates);
    const t = this.txn();
    t.statements.push(
      `UPDATE dbo."SalesOrderLines" SET "Qty" = ${fmt(this.qty(), 4)} WHERE "OrderID" = ${o.id} AND "LineNo" = ${this.rng.int(1, o.lines)};`,
      totalSql(o.id),
    );
    this.count(t, 'dbo_SalesOrderLines', 'updates', 1);
    this.count(t, 'dbo_SalesOrders', 'updates', 1);
    return t;
  }

  /** Cancel a new or approved order and delete its lines. */
  private cancelOrder(remaining: number): Txn | undefined {
    const candidates = this.w.openOrders.filter((o) => o.status === 'N' || o.status === 'A');
    if (candidates.length === 0) return undefined;
    const o = this.rng.pick(candidates);
    if (1 + o.lines > remaining) return undefined;
    const t = this.txn();
    t.statements.push(
      `UPDATE dbo."SalesOrders" SET "Status" = 'X', "TotalAmount" = 0, "ModifiedAt" = ${NOW} WHERE "OrderID" = ${o.id};`,
      `DELETE FROM dbo."SalesOrderLines" WHERE "OrderID" = ${o.id};`,
    );
    this.count(t, 'dbo_SalesOrders', 'updates', 1);
    this.count(t, 'dbo_SalesOrderLines', 'deletes', o.lines);
    this.w.openOrders.splice(this.w.openOrders.indexOf(o), 1);
    this.w.cancelledOrders.push(o.id);
    return t;
  }

  /** The nightly purge removes the oldest cancelled order header. */
  private purgeCancelled(): Txn | undefined {
    const id = this.w.cancelledOrders.shift();
    if (id === undefined) return undefined;
    const t = this.txn();
    t.statements.push(`DELETE FROM dbo."SalesOrders" WHERE "OrderID" = ${id};`);
    this.count(t, 'dbo_SalesOrders', 'deletes', 1);
    return t;
  }

  private newCustomer(): Txn {
    const t = this.txn();
    const { sql, c } = this.customerValues(this.w.nextCustomerId++);
    this.w.customers.push(c);
    t.statements.push(
      `INSERT INTO dbo."Customers" ("CustomerID", "CustomerCode", "Name", "Email", "CreditLimit", "Region", "IsActive", "ModifiedAt") VALUES ${sql};`,
    );
    this.count(t, 'dbo_Customers', 'inserts', 1);
    return t;
  }

  /** A new product with stock at one or two locations. */
  private newProduct(remaining: number): Txn {
    const t = this.txn();
    const { sql, p } = this.productValues(this.w.nextProductId++);
    this.w.products.push(p);
    const rows = this.rng.sample(LOCATIONS, Math.min(this.rng.int(1, 2), remaining - 1)).map((location) => {
      const v = this.inventoryValues(this.w.nextInventoryId++, p.id, location);
      this.w.inventory.push(v.r);
      return v.sql;
    });
    t.statements.push(`${PRODUCT_INSERT} ${sql};`, `${INVENTORY_INSERT} ${rows.join(', ')};`);
    this.count(t, 'dbo_Products', 'inserts', 1);
    this.count(t, 'dbo_Inventory', 'inserts', rows.length);
    return t;
  }

  private discontinueInventory(remaining: number): Txn | undefined {
    if (this.w.inventory.length < 20) return undefined;
    const t = this.txn();
    const rows = this.rng.sample(this.w.inventory, Math.min(remaining, this.rng.int(1, 3)));
    for (const r of rows) {
      removeAt(this.w.inventory, this.w.inventory.indexOf(r));
      this.w.deletedInventory.push({ id: r.id, productId: r.productId, location: r.location });
    }
    t.statements.push(`DELETE FROM dbo."Inventory" WHERE "InventoryID" IN (${rows.map((r) => r.id).join(', ')});`);
    this.count(t, 'dbo_Inventory', 'deletes', rows.length);
    return t;
  }

  /** A product is dropped from the catalog with its stock rows. */
  private discontinueProduct(remaining: number): Txn | undefined {
    if (this.w.products.length < 10) return undefined;
    const p = this.rng.pick(this.w.products);
    const stock = this.w.inventory.filter((r) => r.productId === p.id);
    if (1 + stock.length > remaining) return undefined;
    const t = this.txn();
    removeAt(this.w.products, this.w.products.indexOf(p));
    for (const r of stock) removeAt(this.w.inventory, this.w.inventory.indexOf(r));
    t.statements.push(`DELETE FROM dbo."Inventory" WHERE "ProductID" = ${p.id};`, `DELETE FROM dbo."Products" WHERE "ProductID" = ${p.id};`);
    this.count(t, 'dbo_Inventory', 'deletes', stock.length);
    this.count(t, 'dbo_Products', 'deletes', 1);
    return t;
  }

  private deleteCustomer(): Txn | undefined {
    const busy = new Set(this.w.openOrders.map((o) => o.customerId));
    const candidates = this.w.customers.filter((c) => !busy.has(c.id));
    if (candidates.length < 3) return undefined;
    const c = this.rng.pick(candidates);
    const t = this.txn();
    removeAt(this.w.customers, this.w.customers.indexOf(c));
    this.w.deletedCustomers.push(c.id);
    t.statements.push(`DELETE FROM dbo."Customers" WHERE "CustomerID" = ${c.id};`);
    this.count(t, 'dbo_Customers', 'deletes', 1);
    return t;
  }

  /** A deleted key comes back (a customer re-activated from the archive, a bin re-opened). */
  private reinsert(): Txn | undefined {
    const t = this.txn();
    const live = new Set(this.w.products.map((p) => p.id));
    const bins = this.w.deletedInventory.filter((d) => live.has(d.productId));
    if (this.w.deletedCustomers.length > 0 && (bins.length === 0 || this.rng.chance(0.5))) {
      const i = this.rng.int(0, this.w.deletedCustomers.length - 1);
      const id = this.w.deletedCustomers[i] as number;
      removeAt(this.w.deletedCustomers, i);
      const { sql, c } = this.customerValues(id);
      this.w.customers.push(c);
      t.statements.push(
        `INSERT INTO dbo."Customers" ("CustomerID", "CustomerCode", "Name", "Email", "CreditLimit", "Region", "IsActive", "ModifiedAt") VALUES ${sql};`,
      );
      this.count(t, 'dbo_Customers', 'inserts', 1);
      return t;
    }
    const d = bins.length > 0 ? this.rng.pick(bins) : undefined;
    if (!d) return undefined;
    removeAt(this.w.deletedInventory, this.w.deletedInventory.indexOf(d));
    const { sql, r } = this.inventoryValues(d.id, d.productId, d.location);
    this.w.inventory.push(r);
    t.statements.push(`${INVENTORY_INSERT} ${sql};`);
    this.count(t, 'dbo_Inventory', 'inserts', 1);
    return t;
  }
}

const PRODUCT_INSERT =
  'INSERT INTO dbo."Products" ("ProductID", "Sku", "Grade", "Form", "ThicknessIn", "WidthIn", "LengthIn", "WeightLb", "ListPrice", "ModifiedAt") VALUES';
const INVENTORY_INSERT =
  'INSERT INTO dbo."Inventory" ("InventoryID", "ProductID", "LocationCode", "QtyOnHand", "QtyAllocated", "ModifiedAt") VALUES';

function totalSql(orderId: number): string {
  return (
    `UPDATE dbo."SalesOrders" SET "TotalAmount" = (SELECT coalesce(round(sum(l."Qty" * l."UnitPrice"), 4), 0) ` +
    `FROM dbo."SalesOrderLines" l WHERE l."OrderID" = ${orderId}), "ModifiedAt" = ${NOW} WHERE "OrderID" = ${orderId};`
  );
}

// ---------------------------------------------------------------------------------------------
// loading the starting state

function col(row: readonly (string | null)[], i: number): string {
  const v = row[i];
  if (v === undefined || v === null) throw new Error(`simulator: unexpected NULL in column ${i}`);
  return v;
}

async function loadWorld(driver: SqlDriver): Promise<World> {
  const q = async (sql: string): Promise<readonly (readonly (string | null)[])[]> => (await driver.query(sql)).rows;
  const customers = (await q(`SELECT "CustomerID", "IsActive"::text, "Email", "CreditLimit"::text FROM dbo."Customers" ORDER BY 1`)).map(
    (r): Customer => ({
      id: Number(col(r, 0)),
      active: col(r, 1) === 'true',
      email: r[2] ?? null,
      creditCents: units(col(r, 3), 2),
    }),
  );
  const products = (await q(`SELECT "ProductID", "ListPrice"::text FROM dbo."Products" ORDER BY 1`)).map(
    (r): Product => ({ id: Number(col(r, 0)), price: units(col(r, 1), 4) }),
  );
  const inventory = (
    await q(`SELECT "InventoryID", "ProductID", "LocationCode", "QtyOnHand"::text, "QtyAllocated"::text FROM dbo."Inventory" ORDER BY 1`)
  ).map(
    (r): InventoryRow => ({
      id: Number(col(r, 0)),
      productId: Number(col(r, 1)),
      location: col(r, 2),
      onHand: units(col(r, 3), 4),
      allocated: units(col(r, 4), 4),
    }),
  );
  const openOrders = (
    await q(
      `SELECT o."OrderID", o."Status", o."CustomerID", (SELECT count(*) FROM dbo."SalesOrderLines" l WHERE l."OrderID" = o."OrderID")
       FROM dbo."SalesOrders" o WHERE o."Status" IN ('N', 'A', 'P', 'S') ORDER BY 1`,
    )
  ).map(
    (r): OpenOrder => ({
      id: Number(col(r, 0)),
      status: col(r, 1) as OrderStatus,
      customerId: Number(col(r, 2)),
      lines: Number(col(r, 3)),
    }),
  );
  const cancelledOrders = (await q(`SELECT "OrderID" FROM dbo."SalesOrders" WHERE "Status" = 'X' ORDER BY 1`)).map((r) => Number(col(r, 0)));
  const ct = (ci: string): string => changeTableSql(ci);
  const deletedCustomers = (
    await q(
      `SELECT DISTINCT d."CustomerID" FROM (SELECT "CustomerID" FROM ${ct('dbo_Customers')} WHERE "__$operation" = 1
         ORDER BY "__$start_lsn" DESC, "__$command_id" DESC LIMIT 200) d
       WHERE NOT EXISTS (SELECT 1 FROM dbo."Customers" c WHERE c."CustomerID" = d."CustomerID") ORDER BY 1`,
    )
  ).map((r) => Number(col(r, 0)));
  const deletedInventory = (
    await q(
      `SELECT DISTINCT ON (d."InventoryID") d."InventoryID", d."ProductID", d."LocationCode"
       FROM (SELECT "InventoryID", "ProductID", "LocationCode" FROM ${ct('dbo_Inventory')} WHERE "__$operation" = 1
         ORDER BY "__$start_lsn" DESC, "__$command_id" DESC LIMIT 200) d
       WHERE NOT EXISTS (SELECT 1 FROM dbo."Inventory" i WHERE i."InventoryID" = d."InventoryID") ORDER BY 1`,
    )
  ).map((r) => ({ id: Number(col(r, 0)), productId: Number(col(r, 1)), location: col(r, 2) }));
  const maxId = async (table: string, key: string, ci: string): Promise<number> => {
    const r = await q(
      `SELECT greatest((SELECT max(${key}) FROM dbo.${table}), (SELECT max(${key}) FROM ${ct(ci)}), 0)`,
    );
    return Number(r[0]?.[0] ?? '0') + 1;
  };
  return {
    customers,
    products,
    inventory,
    openOrders,
    cancelledOrders,
    deletedCustomers,
    deletedInventory,
    nextCustomerId: await maxId('"Customers"', '"CustomerID"', 'dbo_Customers'),
    nextProductId: await maxId('"Products"', '"ProductID"', 'dbo_Products'),
    nextInventoryId: await maxId('"Inventory"', '"InventoryID"', 'dbo_Inventory'),
    nextOrderId: await maxId('"SalesOrders"', '"OrderID"', 'dbo_SalesOrders'),
  };
}

// ---------------------------------------------------------------------------------------------

/**
 * Runs ERP activity against an installed emulated source (installSource) until `changes` change
 * rows exist (exact, except that seeding an empty ERP writes at least ~29 rows).
 */
export async function simulateErpActivity(driver: SqlDriver, options: SimulateOptions): Promise<SimulationResult> {
  const target = options.changes;
  if (!Number.isInteger(target) || target < 0) throw new RangeError(`changes must be a non-negative integer (got ${target})`);
  if (!Number.isFinite(options.seed)) throw new RangeError('seed must be a finite number');
  const perTrip = options.transactionsPerRoundTrip ?? 100;
  if (!Number.isInteger(perTrip) || perTrip < 1) throw new RangeError('transactionsPerRoundTrip must be a positive integer');
  const tickMs = options.tickMs ?? 1500;
  if (!(tickMs > 0)) throw new RangeError('tickMs must be positive');

  let clockMs: number | undefined;
  if (options.startTime !== undefined) {
    clockMs = options.startTime.getTime();
    if (!Number.isFinite(clockMs)) throw new RangeError('startTime is not a valid Date');
    const r = await driver.query(
      `SELECT ($1::timestamptz AT TIME ZONE (SELECT value FROM cdc.settings WHERE name = 'time_zone')) <= max(tran_end_time),
              max(tran_end_time)::text
       FROM cdc.lsn_time_mapping`,
      [options.startTime.toISOString()],
    );
    if (r.rows[0]?.[0] === 't') {
      throw new RangeError(
        `startTime ${options.startTime.toISOString()} is not after the source's last commit time ${r.rows[0]?.[1] ?? ''} (source time zone); ` +
          'commit times must increase: pass a later startTime (e.g. the previous run\'s nextStartTime)',
      );
    }
  }
  const clockRng = new Rng(options.seed * 31 + 7);

  const startMax = normalizeLsn((await driver.query(`SELECT encode(sys.fn_cdc_get_max_lsn(), 'hex')`)).rows[0]?.[0] ?? ZERO_LSN);
  const world = await loadWorld(driver);
  const work = new Workload(new Rng(options.seed), world);

  let done = 0;
  let pending: string[] = [];
  let pendingBytes = 0;
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const script = pending.join('\n');
    pending = [];
    pendingBytes = 0;
    await driver.exec(script);
    options.onProgress?.(done);
  };
  const submit = async (t: Txn): Promise<void> => {
    const lines = ['BEGIN;'];
    if (clockMs !== undefined) {
      lines.push(`SELECT set_config('cdc.simulated_now', '${new Date(clockMs).toISOString()}', true);`);
      clockMs += Math.max(1, Math.round(tickMs * (0.25 + 1.5 * clockRng.float())));
    }
    if (t.seqvalReversed === true) lines.push(`SELECT set_config('cdc.seqval_order', 'reverse', true);`);
    lines.push(...t.statements, 'COMMIT;');
    const text = lines.join('\n');
    pending.push(text);
    pendingBytes += text.length;
    done += t.changes;
    if (pending.length >= perTrip || pendingBytes > 1_000_000) await flush();
  };

  if (target > 0) {
    const [c, p, i] = await Promise.all(
      ['"Customers"', '"Products"', '"Inventory"'].map(async (tbl) => (await driver.query(`SELECT NOT EXISTS (SELECT 1 FROM dbo.${tbl})`)).rows[0]?.[0] === 't'),
    );
    for (const t of work.seed(target, { customers: c === true, products: p === true, inventory: i === true })) await submit(t);
  }
  while (done < target) {
    await submit(work.next(target - done));
  }
  await flush();

  // report what the change tables hold for this run's LSNs (the truth the pipeline will read)
  const byTable = emptyCounts();
  let changes = 0;
  for (const ci of CAPTURE_INSTANCES) {
    const r = await driver.query(
      `SELECT "__$operation", count(*) FROM ${changeTableSql(ci)} WHERE "__$start_lsn" > $1::bytea GROUP BY 1`,
      [`\\x${startMax}`],
    );
    const a = byTable[ci] as TableActivity;
    for (const row of r.rows) {
      const n = Number(row[1] ?? '0');
      if (row[0] === '2') a.inserts += n;
      else if (row[0] === '4') a.updates += n;
      else if (row[0] === '1') a.deletes += n;
    }
    changes += a.inserts + a.updates + a.deletes;
  }
  const tx = await driver.query(
    `SELECT (SELECT count(*) FROM cdc.lsn_time_mapping WHERE start_lsn > $1::bytea),
       encode((SELECT start_lsn FROM cdc.lsn_time_mapping WHERE start_lsn > $1::bytea ORDER BY start_lsn LIMIT 1), 'hex'),
       encode((SELECT start_lsn FROM cdc.lsn_time_mapping WHERE start_lsn > $1::bytea ORDER BY start_lsn DESC LIMIT 1), 'hex')`,
    [`\\x${startMax}`],
  );
  const row = tx.rows[0];
  const result: SimulationResult = {
    transactions: Number(row?.[0] ?? '0'),
    changes,
    byTable,
    firstLsn: row?.[1] ?? null,
    lastLsn: row?.[2] ?? null,
  };
  return clockMs === undefined ? result : { ...result, nextStartTime: new Date(clockMs) };
}
