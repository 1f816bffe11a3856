// Runs the official smooch-core 8.11.4 client (npm alias smooch-core-8)
// against a live Parley (tests/api/test_smooch_core_8.py), in two phases:
//   PHASE=setup: create a Telegram and a Twilio integration, list them (all,
//     by type, paged), get, update, refuse a bad token, link a phone number
//     with skipConfirmation, post a notification, delete the Telegram one;
//   PHASE=teardown: delete the Twilio integration (after its SMS went out)
//     and list what is left.
// Env: SERVICE_URL, KEY_ID, SECRET, APP_ID, PHASE and the platform values
// below. Prints one JSON object: what each call answered.
'use strict';
const Smooch = require('smooch-core-8');
const report = require('./report');
const failure = report.failure;

const env = process.env;
const smooch = new Smooch({keyId: env.KEY_ID, secret: env.SECRET, scope: 'app', serviceUrl: env.SERVICE_URL});
const APP_ID = env.APP_ID;
const out = {};

async function setup() {
    out.telegram = await smooch.integrations.create(APP_ID, {type: 'telegram', token: env.TELEGRAM_TOKEN});
    out.twilio = await smooch.integrations.create(APP_ID, {
        type: 'twilio',
        accountSid: env.TWILIO_ACCOUNT_SID,
        authToken: env.TWILIO_AUTH_TOKEN,
        phoneNumberSid: env.TWILIO_PHONE_NUMBER_SID,
        displayName: 'Support line'
    });
    const telegramId = out.telegram.integration._id;
    const twilioId = out.twilio.integration._id;

    out.listed = await smooch.integrations.list(APP_ID);
    out.listedTwilio = await smooch.integrations.list(APP_ID, ['twilio']);
    out.listedBoth = await smooch.integrations.list(APP_ID, ['twilio', 'telegram']);
    out.listedTelegram = await smooch.integrations.list({appId: APP_ID, types: 'telegram'});
    out.firstPage = await smooch.integrations.list(APP_ID, null, 1);
    out.secondPage = await smooch.integrations.list(APP_ID, null, 1, 1);
    out.got = await smooch.integrations.get(APP_ID, twilioId);
    out.updated = await smooch.integrations.update(APP_ID, telegramId, {displayName: 'Tacos support'});
    out.badToken = await failure(() => smooch.integrations.create(APP_ID, {type: 'telegram', token: env.WRONG_TOKEN}));
    out.badUpdate = await failure(() => smooch.integrations.update(APP_ID, twilioId, {type: 'telegram'}));
    out.missing = await failure(() => smooch.integrations.get(APP_ID, 'no-such-integration'));

    out.linked = await smooch.appUsers.linkChannel(env.APP_USER_ID, {
        type: 'twilio',
        phoneNumber: env.LINK_PHONE,
        skipConfirmation: true
    });
    out.notification = await smooch.notifications.postNotification(APP_ID, {
        destination: {integrationId: twilioId, destinationId: env.NOTIFY_PHONE},
        author: {role: 'appMaker', name: 'Tacos'},
        message: {type: 'text', text: 'Your tacos are on their way!'}
    });
    out.deletedTelegram = await smooch.integrations.delete(APP_ID, telegramId);
    out.afterDelete = await smooch.integrations.list(APP_ID);
}

async function teardown() {
    out.deletedTwilio = await smooch.integrations.delete(APP_ID, env.TWILIO_ID);
    out.left = await smooch.integrations.list(APP_ID);
}

report(env.PHASE === 'teardown' ? teardown() : setup(), out);
