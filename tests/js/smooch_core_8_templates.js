// Runs the official smooch-core 8.11.4 client (npm alias smooch-core-8)
// against a live Parley (tests/api/test_smooch_core_8_templates.py): every
// templates.* method (create, list with limit / offset, get, update,
// delete), with an app-scope key.
// Env: SERVICE_URL, KEY_ID, SECRET (an app key). Prints one JSON object.
'use strict';
const Smooch = require('smooch-core-8');
const report = require('./report');
const failure = report.failure;

const env = process.env;
const smooch = new Smooch({keyId: env.KEY_ID, secret: env.SECRET, scope: 'app', serviceUrl: env.SERVICE_URL});
const out = {methods: Object.keys(Object.getPrototypeOf(smooch.templates))
    .filter((name) => name !== 'constructor').sort()};

async function run() {
    const message = {type: 'text', text: 'We open at 9.'};
    out.created = await smooch.templates.create({name: 'Opening hours', message: message});
    out.second = await smooch.templates.create({name: 'Closing time', message: {type: 'text', text: 'Bye'}});
    const id = out.created.template._id;
    out.listed = await smooch.templates.list();
    out.firstPage = await smooch.templates.list({limit: 1});
    out.secondPage = await smooch.templates.list({limit: 1, offset: 1});
    out.got = await smooch.templates.get(id);
    out.updated = await smooch.templates.update(id, {name: 'Hours'});
    out.duplicate = await failure(() => smooch.templates.create({name: 'Hours', message: message}));
    out.deleted = await smooch.templates.delete(id);
    out.missing = await failure(() => smooch.templates.get(id));
}

report(run(), out);
