// Runs the official smooch-core client against a live Parley: the calls of
// reference/seed-sending-messages.txt exactly as written, then a few more.
// Env: SERVICE_URL, KEY_ID, SECRET, APP_USER_ID. Prints one JSON object.
'use strict';
const Smooch = require('smooch-core');
const report = require('./report');

const smooch = new Smooch(
    {keyId: process.env.KEY_ID, secret: process.env.SECRET, scope: 'app'},
    {serviceUrl: process.env.SERVICE_URL}
);
const APP_USER_ID = process.env.APP_USER_ID;
const out = {};

async function main() {
    // --- the seed, verbatim ---
    await smooch.appUsers.sendMessage(APP_USER_ID, {
        type: 'text',
        text: 'Hello, world!',
        role: 'appMaker',
        name: 'Business Man',
        email: 'boss@business.com'
    }).then(() => {
        // async code
        out.sendText = 'ok';
    });

    await smooch.appUsers.sendMessage(APP_USER_ID, {
        type: 'text',
        text: 'Hey Messenger user',
        role: 'appMaker',
        name: 'Business Man',
        email: 'boss@business.com',
        destination: {
            integrationType: 'messenger'
        }
    }).then(() => {
        // async code
        out.sendDestination = 'ok';
    });

    await smooch.appUsers.typingActivity(APP_USER_ID, {
      type: 'typing:start'
    }).then(() => {
        // async code
        out.typingStart = 'ok';
    });

    await smooch.appUsers.typingActivity(APP_USER_ID, {
      type: 'typing:stop'
    }).then(() => {
        out.typingStop = 'ok';
    });

    // --- more of the client ---
    out.created = await smooch.appUsers.create('steveb@channel5.com', {
        givenName: 'Steve',
        properties: {favoriteFood: 'prizza'}
    });
    out.got = await smooch.appUsers.get('steveb@channel5.com');
    out.messages = await smooch.appUsers.getMessages(APP_USER_ID);
    out.linked = await smooch.appUsers.linkChannel('steveb@channel5.com', {
        type: 'twilio',
        phoneNumber: '+15145555555'
    });
    out.webhook = await smooch.webhooks.create({target: 'http://example.com/callback'});
    out.webhooks = await smooch.webhooks.list();
    try {
        await smooch.appUsers.get('nobody-here');
        out.missing = 'unexpectedly found';
    } catch (error) {
        out.missing = {status: error.response.status, body: await error.response.json()};
    }
}

report(main(), out);
