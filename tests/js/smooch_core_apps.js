// Runs the official clients' `apps.*` and `apps.keys.*` against a live Parley
// (tests/api/test_smooch_core_apps.py) with an account-scope key:
//   smooch-core 8.11.4 (alias smooch-core-8) at /v1.1: create (with settings
//     and metadata), list (paged; an unknown serviceAccountId is a 404), get, update,
//     getSdkIds, keys create / list / get / getJwt (the JWT then used as an
//     app-scope client) / delete (the JWT then refused), delete;
//   smooch-core 3.5.0 at /v1: create, list (paged), get, keys create / list /
//     get / getJwt / delete, delete.
// It also reports each client's method names, so a method added upstream
// without a case here fails the test.
// Env: SERVICE_URL, KEY_ID, SECRET (an account key). Prints one JSON object.
'use strict';
const Smooch8 = require('smooch-core-8');
const Smooch3 = require('smooch-core');
const report = require('./report');
const failure = report.failure;

const env = process.env;
const v8 = new Smooch8({keyId: env.KEY_ID, secret: env.SECRET, scope: 'account', serviceUrl: env.SERVICE_URL});
const v3 = new Smooch3({keyId: env.KEY_ID, secret: env.SECRET, scope: 'account'},
    {serviceUrl: env.SERVICE_URL + '/v1'});
const out = {};

function methods(api) {
    return Object.keys(Object.getPrototypeOf(api)).filter((name) => typeof api[name] === 'function').sort();
}

async function version8() {
    const v = out.v8 = {methods: {apps: methods(v8.apps), keys: methods(v8.apps.keys)}};
    v.created = await v8.apps.create('Tacos', {requireUserJwt: false, logRetentionDays: 14}, {plan: 'gold'});
    v.second = await v8.apps.create('Burritos');
    const id = v.created.app._id;
    v.listed = await v8.apps.list();
    v.firstPage = await v8.apps.list(1);
    v.secondPage = await v8.apps.list(1, 1);
    v.serviceAccount = await failure(() => v8.apps.list(null, null, 'svc_1'));
    v.got = await v8.apps.get(id);
    v.updated = await v8.apps.update(id, {name: 'Tacos HQ', settings: {allowedOrigins: ['https://tacos.example']}});
    v.badUpdate = await failure(() => v8.apps.update(id, {settings: {maskCreditCardNumbers: true}}));
    v.sdks = await v8.apps.getSdkIds(id);

    v.key = await v8.apps.keys.create(id, 'ci');
    const keyId = v.key.key._id;
    v.keys = await v8.apps.keys.list(id);
    v.gotKey = await v8.apps.keys.get(id, keyId);
    v.jwt = await v8.apps.keys.getJwt(id, keyId);
    const asApp = new Smooch8({jwt: v.jwt.jwt, serviceUrl: env.SERVICE_URL});
    v.webhooksWithJwt = await asApp.webhooks.list();
    v.deletedKey = await v8.apps.keys.delete(id, keyId);
    v.revokedJwt = await failure(() => asApp.webhooks.list());
    v.missingKey = await failure(() => v8.apps.keys.get(id, keyId));

    v.deleted = await v8.apps.delete(v.second.app._id);
    v.missing = await failure(() => v8.apps.get(v.second.app._id));
}

async function version3() {
    const v = out.v3 = {methods: {apps: methods(v3.apps), keys: methods(v3.apps.keys)}};
    v.created = await v3.apps.create('Enchiladas');
    const id = v.created.app._id;
    v.listed = await v3.apps.list();
    v.page = await v3.apps.list(1, 1);
    v.got = await v3.apps.get(id);
    v.key = await v3.apps.keys.create(id, 'v1 key');
    const keyId = v.key.key._id;
    v.keys = await v3.apps.keys.list(id);
    v.gotKey = await v3.apps.keys.get(id, keyId);
    v.jwt = await v3.apps.keys.getJwt(id, keyId);
    v.deletedKey = await v3.apps.keys.delete(id, keyId);
    v.deleted = await v3.apps.delete(id);
}

report(version8().then(version3), out);
