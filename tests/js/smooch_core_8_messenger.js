// Runs the official smooch-core 8.11.4 client (npm alias smooch-core-8)
// against a live Parley (tests/api/test_smooch_core_8_messenger.py): creates
// a Messenger integration with the properties the client sends
// (pageAccessToken, appId, appSecret), refuses a wrong page token, lists the
// app's messenger integrations, gets the one created and deletes it.
// Env: SERVICE_URL, KEY_ID, SECRET, APP_ID, PAGE_TOKEN, WRONG_TOKEN,
// META_APP_ID, META_APP_SECRET. Prints one JSON object: what each call answered.
'use strict';
const Smooch = require('smooch-core-8');
const report = require('./report');
const failure = report.failure;

const env = process.env;
const smooch = new Smooch({keyId: env.KEY_ID, secret: env.SECRET, scope: 'app', serviceUrl: env.SERVICE_URL});
const APP_ID = env.APP_ID;
const out = {};

async function run() {
    const props = {type: 'messenger', pageAccessToken: env.PAGE_TOKEN, appId: env.META_APP_ID,
                   appSecret: env.META_APP_SECRET};
    out.badToken = await failure(() => smooch.integrations.create(APP_ID, {...props, pageAccessToken: env.WRONG_TOKEN}));
    out.created = await smooch.integrations.create(APP_ID, props);
    const id = out.created.integration._id;
    out.listed = await smooch.integrations.list(APP_ID, ['messenger']);
    out.got = await smooch.integrations.get(APP_ID, id);
    out.deleted = await smooch.integrations.delete(APP_ID, id);
    out.left = await smooch.integrations.list(APP_ID, ['messenger']);
}

report(run(), out);
