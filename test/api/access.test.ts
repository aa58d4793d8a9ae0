import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ENGINES } from '../support/engines.js'
import {
  client,
  loginCookie,
  type SeededTenant,
  seedTenant,
  startTestServer,
  type TestServer,
} from '../support/server.js'

type Call = ReturnType<typeof client>

/** One entity of each catalog kind, created in a tenant through the API. */
async function createCatalog(call: Call, ownerUserId: string) {
  const group = (await call('POST', '/v1/product-groups', { code: 'PG-1', name: 'Fasteners' })).body
  const supplier = (await call('POST', '/v1/accounts', { name: 'Supplier GmbH', kind: 'supplier' })).body
  const account = (await call('POST', '/v1/accounts', { name: 'Kunde AG', kind: 'customer', ownerUserId }))
    .body
  const child = (
    await call('POST', '/v1/accounts', { name: 'Kunde AG Filiale', kind: 'customer', parentId: account.id })
  ).body
  const contact = (
    await call('POST', '/v1/contacts', {
      accountId: account.id,
      name: 'Eva Einkauf',
      email: 'eva@kunde.example',
    })
  ).body
  const product = (
    await call('POST', '/v1/products', {
      sku: 'SKU-1',
      name: 'Screw',
      productGroupId: group.id,
      supplierAccountId: supplier.id,
    })
  ).body
  const alias = await call('PUT', '/v1/aliases', {
    system: 'erp',
    entityType: 'account',
    externalId: '10001',
    entityId: account.id,
  })
  expect(alias.status).toBeLessThan(300)
  for (const e of [group, supplier, account, child, contact, product]) expect(e.id).toBeTruthy()
  return { group, supplier, account, child, contact, product }
}

describe.each(ENGINES)('access control over HTTP on %s', (engine) => {
  let server: TestServer
  let a: SeededTenant
  let b: SeededTenant
  let catalogA: Awaited<ReturnType<typeof createCatalog>>
  beforeAll(async () => {
    server = await startTestServer(engine)
    a = await seedTenant(server, 'tenant-a')
    b = await seedTenant(server, 'tenant-b')
    catalogA = await createCatalog(client(server.baseUrl, { key: a.keys.admin }), a.users.sales.id)
  })
  afterAll(async () => {
    await server.close()
  })

  it('never shows one tenant an entity of another, through any catalog endpoint', async () => {
    const asB = client(server.baseUrl, { key: b.keys.admin })
    const targets: [string, string, Record<string, unknown>][] = [
      ['/v1/accounts', catalogA.account.id, { name: 'hijacked' }],
      ['/v1/accounts', catalogA.supplier.id, { name: 'hijacked' }],
      ['/v1/contacts', catalogA.contact.id, { name: 'hijacked' }],
      ['/v1/products', catalogA.product.id, { name: 'hijacked' }],
      ['/v1/product-groups', catalogA.group.id, { name: 'hijacked' }],
      ['/v1/users', a.users.sales.id, { name: 'hijacked' }],
    ]
    for (const [base, id, patch] of targets) {
      expect((await asB('GET', `${base}/${id}`)).status, `GET ${base}`).toBe(404)
      expect((await asB('PATCH', `${base}/${id}`, patch)).status, `PATCH ${base}`).toBe(404)
      const list = await asB('GET', base)
      expect(list.status).toBe(200)
      expect(JSON.stringify(list.body)).not.toContain(id)
    }
    for (const base of ['/v1/accounts', '/v1/contacts', '/v1/products', '/v1/product-groups']) {
      const id = targets.find(([b2]) => b2 === base)?.[1] ?? ''
      expect((await asB('DELETE', `${base}/${id}`)).status, `DELETE ${base}`).toBe(404)
    }
    expect((await asB('GET', `/v1/accounts/${catalogA.account.id}/children`)).status).toBe(404)
    const keysOfB = await asB('GET', '/v1/api-keys')
    expect(keysOfB.status).toBe(200)
    const keyIdsOfA = (
      await client(server.baseUrl, { key: a.keys.admin })('GET', '/v1/api-keys')
    ).body.items.map((k: { id: string }) => k.id)
    for (const id of keyIdsOfA) {
      expect(JSON.stringify(keysOfB.body)).not.toContain(id)
      expect((await asB('DELETE', `/v1/api-keys/${id}`)).status).toBe(404)
    }
    const alias = await asB('GET', '/v1/aliases?system=erp&entityType=account&externalId=10001')
    expect(alias.status).toBe(404)
    const audit = await asB('GET', '/v1/audit')
    expect(audit.status).toBe(200)
    expect(JSON.stringify(audit.body)).not.toContain(catalogA.account.id)
    // B cannot hang its own records onto A's entities either.
    expect((await asB('POST', '/v1/contacts', { accountId: catalogA.account.id, name: 'x' })).status).toBe(
      404,
    )
    expect(
      (await asB('POST', '/v1/accounts', { name: 'x', kind: 'customer', parentId: catalogA.account.id }))
        .status,
    ).toBe(404)
    // A still sees its own.
    expect(
      (await client(server.baseUrl, { key: a.keys.read })('GET', `/v1/accounts/${catalogA.account.id}`))
        .status,
    ).toBe(200)
  })

  it('shows a sales rep only the accounts they own and their children', async () => {
    const cookie = await loginCookie(server.baseUrl, a.slug, a.users.sales.email, a.password)
    const asSales = client(server.baseUrl, { cookie })
    const list = await asSales('GET', '/v1/accounts')
    expect(list.status).toBe(200)
    const ids = list.body.items.map((x: { id: string }) => x.id).sort()
    expect(ids).toEqual([catalogA.account.id, catalogA.child.id].sort())
    expect((await asSales('GET', `/v1/accounts/${catalogA.child.id}`)).status).toBe(200)
    expect((await asSales('GET', `/v1/accounts/${catalogA.supplier.id}`)).status).toBe(404)
    expect((await asSales('PATCH', `/v1/accounts/${catalogA.supplier.id}`, { name: 'x' })).status).toBe(404)
    const contacts = await asSales('GET', '/v1/contacts')
    expect(contacts.body.items.map((c: { id: string }) => c.id)).toEqual([catalogA.contact.id])
    // Administration is not for sales.
    expect((await asSales('GET', '/v1/users')).status).toBe(403)
    expect((await asSales('POST', '/v1/api-keys', { name: 'mine', scopes: ['read'] })).status).toBe(403)
  })

  it('lets an analyst read everything and change nothing', async () => {
    const cookie = await loginCookie(server.baseUrl, a.slug, a.users.analyst.email, a.password)
    const asAnalyst = client(server.baseUrl, { cookie })
    const list = await asAnalyst('GET', '/v1/accounts')
    expect(list.body.items).toHaveLength(3)
    expect((await asAnalyst('PATCH', `/v1/accounts/${catalogA.account.id}`, { name: 'x' })).status).toBe(403)
    expect((await asAnalyst('POST', '/v1/accounts', { name: 'x', kind: 'customer' })).status).toBe(403)
  })

  it('limits API keys to their scopes', async () => {
    const read = client(server.baseUrl, { key: a.keys.read })
    expect((await read('GET', '/v1/accounts')).status).toBe(200)
    expect((await read('POST', '/v1/accounts', { name: 'x', kind: 'customer' })).status).toBe(403)
    const ingest = client(server.baseUrl, { key: a.keys.ingest })
    expect((await ingest('GET', '/v1/accounts')).status).toBe(403)
    const write = client(server.baseUrl, { key: a.keys.write })
    expect((await write('GET', '/v1/users')).status).toBe(403)
  })

  it('stops a revoked key at once', async () => {
    const admin = client(server.baseUrl, { key: a.keys.admin })
    const created = await admin('POST', '/v1/api-keys', { name: 'ERP connector', scopes: ['read'] })
    expect(created.status).toBe(201)
    expect(created.body.key).toMatch(/^fxm_/)
    const listed = await admin('GET', '/v1/api-keys')
    expect(JSON.stringify(listed.body)).not.toContain(created.body.key)
    const erp = client(server.baseUrl, { key: created.body.key })
    expect((await erp('GET', '/v1/accounts')).status).toBe(200)
    expect(
      (await admin('DELETE', `/v1/api-keys/${created.body.apiKey?.id ?? created.body.id}`)).status,
    ).toBeLessThan(300)
    expect((await erp('GET', '/v1/accounts')).status).toBe(401)
  })

  it('pages through a list returning every row once', async () => {
    const admin = client(server.baseUrl, { key: b.keys.admin })
    for (let i = 0; i < 7; i++)
      expect((await admin('POST', '/v1/accounts', { name: `Paged ${i}`, kind: 'customer' })).status).toBe(201)
    const seen: string[] = []
    let cursor: string | null = null
    do {
      const page: { body: { items: { id: string }[]; nextCursor: string | null } } = await admin(
        'GET',
        `/v1/accounts?limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      )
      seen.push(...page.body.items.map((x) => x.id))
      cursor = page.body.nextCursor
    } while (cursor)
    expect(seen).toHaveLength(7)
    expect(new Set(seen).size).toBe(7)
  })
})
