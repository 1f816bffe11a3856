// The official clients as a service for tests/api/test_every_client_method.py:
// one JSON request per stdin line, one JSON answer per stdout line.
//   request: {"client": "v3" | "v8", "serviceUrl", "auth": {keyId, secret, scope} | {jwt},
//             "method": "appUsers.mergeUsers", "args": [...]}
//   an argument {"$file": path} is passed as a read stream of that file.
//   answer:  {"ok": true, "body": ...} or {"ok": false, "status", "body"} (the
//            server's refusal) or {"ok": false, "error"} (the client refused
//            to send: no request was made).
// Each client is built as its users build it: v8 with `serviceUrl`, v3 with
// the /v1 URL as its second argument.
'use strict';
const fs = require('fs');
const readline = require('readline');
// Uploads (a FormData body) as each client works on this Node: v8 sends with
// node-fetch, which streams only the form-data package's FormData (the
// polyfill v8 installs where Node has none); v3 sends with Node's own fetch
// (isomorphic-fetch defers to it), which takes Node's own FormData and a
// file as a Blob.
const NodeFormData = global.FormData;
const PackageFormData = require('form-data');
const Smooch8 = require('smooch-core-8');
const Smooch3 = require('smooch-core');

function build(request) {
    const auth = request.auth;
    if (request.client === 'v8') {
        return new Smooch8(Object.assign({serviceUrl: request.serviceUrl}, auth));
    }
    return new Smooch3(auth, {serviceUrl: request.serviceUrl + '/v1'});
}

function argument(value, client) {
    if (value && typeof value === 'object' && value.$file) {
        if (client === 'v3') {
            return new File([fs.readFileSync(value.$file)], require('path').basename(value.$file));
        }
        return fs.createReadStream(value.$file);
    }
    return value;
}

async function call(request) {
    const names = request.method.split('.');
    let api = build(request);
    for (const name of names.slice(0, -1)) {
        api = api[name];
    }
    const method = api && api[names[names.length - 1]];
    if (typeof method !== 'function') {
        return {ok: false, error: `the ${request.client} client has no method ${request.method}`};
    }
    try {
        global.FormData = request.client === 'v3' ? NodeFormData : PackageFormData;
        const args = (request.args || []).map((value) => argument(value, request.client));
        return {ok: true, body: await method.apply(api, args)};
    } catch (error) {
        if (!error.response) {
            return {ok: false, error: String(error.message || error)};
        }
        // v8 has read a JSON refusal already (its code and description are
        // on the error); v3 leaves the body to the caller.
        let body = {error: {code: error.code, description: error.description}};
        if (!error.response.bodyUsed) {
            const text = await error.response.text();
            try {
                body = JSON.parse(text);
            } catch (notJson) {
                body = text;
            }
        }
        return {ok: false, status: error.response.status, body};
    }
}

const lines = readline.createInterface({input: process.stdin});
// The test sends one request and waits for its answer before the next.
lines.on('line', async (line) => {
    process.stdout.write(JSON.stringify(await call(JSON.parse(line))) + '\n');
});
