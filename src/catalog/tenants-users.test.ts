import { randomBytes, scryptSync } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestStore, ENGINES, type TestStore } from '../../test/support/engines.js'
import { fixedClock } from '../core/index.js'
import { storeMigrations } from '../store/index.js'
import { FIXTURE_PASSWORD, type SeededTenant, seedTenant } from './fixtures.js'
import {
  type CatalogDeps,
  catalogMigrations,
  createTenant,
  createUser,
  getTenant,
  getTenantBySlug,
  getUser,
  hashPassword,
  listTenants,
  listUsers,
  login,
  logout,
  setPassword,
  updateTenant,
  updateUser,
  verifyPassword,
  verifySession,
} from './index.js'

describe.each(ENGINES)('tenants, users and sessions on %s', (engine) => {
  let t: TestStore
  let deps: CatalogDeps
  let a: SeededTenant
  let b: SeededTenant
  const clock = fixedClock('2026-03-01T08:00:00.000Z')

  beforeAll(async () => {
    t = await createTestStore(engine, [...storeMigrations, ...catalogMigrations])
    deps = { store: t.store, clock }
    a = await seedTenant(deps, 'acme')
    b = await seedTenant(deps, 'globex')
  })
  afterAll(async () => {
    await t.cleanup()
  })

  it('creates tenants with defaults and rejects a taken slug as conflict', async () => {
    expect(a.tenant).toMatchObject({ slug: 'acme', timeZone: 'Europe/Berlin', currency: 'EUR' })
    expect(await getTenantBySlug(deps, 'globex')).toEqual(b.tenant)
    expect(await getTenantBySlug(deps, 'nope')).toBeNull()
    expect((await listTenants(deps)).map((x) => x.slug)).toEqual(expect.arrayContaining(['acme', 'globex']))
    await expect(createTenant(deps, { slug: 'acme', name: 'Again' })).rejects.toMatchObject({
      code: 'conflict',
    })
    await expect(createTenant(deps, { slug: 'Bad Slug', name: 'x' })).rejects.toMatchObject({
      code: 'invalid_input',
    })
    await expect(createTenant(deps, { slug: 'tz', name: 'x', timeZone: 'Mars/Base' })).rejects.toMatchObject({
      code: 'invalid_input',
    })
  })

  it('shows each caller only their own tenant and lets only admins change it', async () => {
    expect((await getTenant(deps, b.as.sales)).id).toBe(b.tenant.id)
    await expect(updateTenant(deps, a.as.analyst, { name: 'Hacked' })).rejects.toMatchObject({
      code: 'forbidden',
    })
    const renamed = await updateTenant(deps, a.as.admin, { name: 'ACME Handel GmbH', currency: 'CHF' })
    expect(renamed).toMatchObject({ id: a.tenant.id, name: 'ACME Handel GmbH', currency: 'CHF' })
    expect((await getTenant(deps, b.as.admin)).name).toBe('Tenant globex')
  })

  it('hashes passwords with scrypt and verifies them', async () => {
    const hash = await hashPassword('a long enough secret')
    expect(hash).not.toContain('a long enough secret')
    expect(hash).toMatch(/^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/)
    expect(await verifyPassword('a long enough secret', hash)).toBe(true)
    expect(await verifyPassword('a long enough secreT', hash)).toBe(false)
    expect(await verifyPassword('a long enough secret', 'plain')).toBe(false)
    const row = await t.store.db
      .withTables<{ users: { email: string; password_hash: string } }>()
      .selectFrom('users')
      .select('password_hash')
      .where('email', '=', 'admin@acme.example')
      .executeTakeFirstOrThrow()
    expect(row.password_hash).not.toContain(FIXTURE_PASSWORD)
    expect(row.password_hash.startsWith('scrypt$')).toBe(true)
  })

  it('re-hashes a password made with older cost settings at the next login', async () => {
    const salt = randomBytes(16)
    const weak = scryptSync(FIXTURE_PASSWORD, salt, 32, { N: 1024, r: 8, p: 1 })
    const old = ['scrypt', 1024, 8, 1, salt.toString('base64'), weak.toString('base64')].join('$')
    const users = t.store.db.withTables<{ users: { id: string; password_hash: string } }>()
    await users
      .updateTable('users')
      .set({ password_hash: old })
      .where('id', '=', b.as.analyst.userId)
      .execute()
    await login(deps, { tenant: 'globex', email: 'analyst@globex.example', password: FIXTURE_PASSWORD })
    const row = await users
      .selectFrom('users')
      .select('password_hash')
      .where('id', '=', b.as.analyst.userId)
      .executeTakeFirstOrThrow()
    expect(row.password_hash).not.toBe(old)
    expect(row.password_hash.startsWith('scrypt$16384$')).toBe(true)
    expect(await verifyPassword(FIXTURE_PASSWORD, row.password_hash)).toBe(true)
  })

  it('lets only admins create users, lower-cases e-mails and rejects duplicates and short passwords', async () => {
    const input = {
      email: 'New.Rep@ACME.example',
      name: 'New Rep',
      role: 'sales' as const,
      password: 'long enough 1',
    }
    await expect(createUser(deps, a.as.analyst, input)).rejects.toMatchObject({ code: 'forbidden' })
    const user = await createUser(deps, a.as.admin, input)
    expect(user.email).toBe('new.rep@acme.example')
    expect(user).not.toHaveProperty('passwordHash')
    await expect(
      createUser(deps, a.as.admin, { ...input, email: 'NEW.REP@acme.example' }),
    ).rejects.toMatchObject({
      code: 'conflict',
    })
    // The same e-mail in another tenant is another person.
    await createUser(deps, b.as.admin, input)
    await expect(
      createUser(deps, a.as.admin, { ...input, email: 'x@acme.example', password: 'short' }),
    ).rejects.toMatchObject({ code: 'invalid_input', issues: [{ field: 'password' }] })
  })

  it('keeps users of other tenants out of reach and the directory to admins', async () => {
    await expect(listUsers(deps, a.as.sales)).rejects.toMatchObject({ code: 'forbidden' })
    expect((await getUser(deps, a.as.sales, a.as.sales.userId)).email).toBe('sales@acme.example')
    await expect(getUser(deps, a.as.sales, a.as.analyst.userId)).rejects.toMatchObject({ code: 'forbidden' })
    const list = await listUsers(deps, a.as.admin, { limit: 500 })
    expect(list.items.length).toBeGreaterThanOrEqual(4)
    expect(list.items.every((u) => u.email.endsWith('acme.example'))).toBe(true)
    await expect(getUser(deps, a.as.admin, b.as.sales.userId)).rejects.toMatchObject({ code: 'not_found' })
    await expect(updateUser(deps, a.as.admin, b.as.sales.userId, { name: 'x' })).rejects.toMatchObject({
      code: 'not_found',
    })
    await expect(
      setPassword(deps, a.as.admin, b.as.sales.userId, { password: 'another long one' }),
    ).rejects.toMatchObject({ code: 'not_found' })
    await expect(updateUser(deps, a.as.sales, a.as.analyst.userId, { role: 'admin' })).rejects.toMatchObject({
      code: 'forbidden',
    })
  })

  it('logs in with tenant, e-mail and password and gives one answer for every failure', async () => {
    const result = await login(deps, {
      tenant: 'acme',
      email: 'Sales@Acme.example',
      password: FIXTURE_PASSWORD,
    })
    expect(result.principal).toEqual(a.as.sales)
    expect(result.expiresAt).toBe('2026-03-01T20:00:00.000Z')
    expect(await verifySession(deps, result.token)).toEqual(a.as.sales)
    const failures = [
      { tenant: 'globex', email: 'sales@acme.example', password: FIXTURE_PASSWORD },
      { tenant: 'acme', email: 'nobody@acme.example', password: FIXTURE_PASSWORD },
      { tenant: 'acme', email: 'sales@acme.example', password: 'wrong password' },
      { tenant: 'nope', email: 'sales@acme.example', password: FIXTURE_PASSWORD },
    ]
    for (const input of failures) {
      await expect(login(deps, input)).rejects.toMatchObject({
        code: 'unauthenticated',
        message: 'Wrong tenant, e-mail or password',
      })
    }
  })

  it('stores only a hash of the session token and ends sessions on logout and expiry', async () => {
    const sessionClock = fixedClock('2026-03-01T08:00:00.000Z')
    const d = { store: t.store, clock: sessionClock }
    const result = await login(
      d,
      { tenant: 'acme', email: 'analyst@acme.example', password: FIXTURE_PASSWORD },
      {
        sessionTtlHours: 1,
      },
    )
    const rows = await t.store.db
      .withTables<{ sessions: { token_hash: string; user_id: string } }>()
      .selectFrom('sessions')
      .selectAll()
      .where('user_id', '=', a.as.analyst.userId)
      .execute()
    expect(JSON.stringify(rows)).not.toContain(result.token)
    sessionClock.advance(59 * 60_000)
    expect(await verifySession(d, result.token)).toEqual(a.as.analyst)
    sessionClock.advance(60_000)
    expect(await verifySession(d, result.token)).toBeNull()

    const again = await login(d, {
      tenant: 'acme',
      email: 'analyst@acme.example',
      password: FIXTURE_PASSWORD,
    })
    await logout(d, again.token)
    expect(await verifySession(d, again.token)).toBeNull()
    expect(await verifySession(d, 'not-a-token')).toBeNull()
  })

  it('stops disabled users at once and lets them back in when re-enabled', async () => {
    const user = await createUser(deps, a.as.admin, {
      email: 'leaver@acme.example',
      name: 'Leaver',
      role: 'sales',
      password: 'long enough 2',
    })
    const session = await login(deps, {
      tenant: 'acme',
      email: 'leaver@acme.example',
      password: 'long enough 2',
    })
    const disabled = await updateUser(deps, a.as.admin, user.id, { disabled: true })
    expect(disabled.disabledAt).toBe(clock.nowIso())
    expect(await verifySession(deps, session.token)).toBeNull()
    await expect(
      login(deps, { tenant: 'acme', email: 'leaver@acme.example', password: 'long enough 2' }),
    ).rejects.toMatchObject({ code: 'unauthenticated' })
    await updateUser(deps, a.as.admin, user.id, { disabled: false })
    await expect(
      login(deps, { tenant: 'acme', email: 'leaver@acme.example', password: 'long enough 2' }),
    ).resolves.toMatchObject({ principal: { userId: user.id } })
  })

  it('applies role changes to existing sessions and keeps one active admin', async () => {
    const user = await createUser(deps, b.as.admin, {
      email: 'promoted@globex.example',
      name: 'P',
      role: 'analyst',
      password: 'long enough 3',
    })
    const session = await login(deps, {
      tenant: 'globex',
      email: 'promoted@globex.example',
      password: 'long enough 3',
    })
    await updateUser(deps, b.as.admin, user.id, { role: 'admin' })
    expect(await verifySession(deps, session.token)).toMatchObject({ role: 'admin' })
    await updateUser(deps, b.as.admin, user.id, { role: 'analyst' })
    await expect(updateUser(deps, b.as.admin, b.as.admin.userId, { disabled: true })).rejects.toMatchObject({
      code: 'conflict',
    })
    await expect(updateUser(deps, b.as.admin, b.as.admin.userId, { role: 'sales' })).rejects.toMatchObject({
      code: 'conflict',
    })
  })

  it('lets users change their own password only with the current one, and admins anyone’s', async () => {
    const user = await createUser(deps, a.as.admin, {
      email: 'changer@acme.example',
      name: 'C',
      role: 'purchasing',
      password: 'first password',
    })
    const me = {
      kind: 'user' as const,
      tenantId: a.tenant.id,
      userId: user.id,
      role: 'purchasing' as const,
      email: user.email,
    }
    const session = await login(deps, { tenant: 'acme', email: user.email, password: 'first password' })
    await expect(setPassword(deps, me, user.id, { password: 'second password' })).rejects.toMatchObject({
      code: 'invalid_input',
    })
    await expect(
      setPassword(deps, me, a.as.sales.userId, { password: 'second password' }),
    ).rejects.toMatchObject({
      code: 'forbidden',
    })
    await setPassword(deps, me, user.id, { password: 'second password', currentPassword: 'first password' })
    expect(await verifySession(deps, session.token)).toBeNull()
    await expect(
      login(deps, { tenant: 'acme', email: user.email, password: 'first password' }),
    ).rejects.toMatchObject({
      code: 'unauthenticated',
    })
    await setPassword(deps, a.as.admin, user.id, { password: 'third password' })
    await expect(
      login(deps, { tenant: 'acme', email: user.email, password: 'third password' }),
    ).resolves.toBeTruthy()
  })
})
