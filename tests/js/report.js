// How the official-client scripts end: what they gathered (`out`) printed
// as one JSON object, or the call that failed with the server's answer on
// stderr and exit code 1. `report.failure(call)`: a call expected to be
// refused, as the client reports the refusal.
'use strict';

function report(work, out) {
    work.then(() => {
        console.log(JSON.stringify(out));
    }).catch(async (error) => {
        let body = '';
        if (error.response) {
            body = await error.response.text();
        }
        console.error('smooch-core call failed:', error.message, body);
        process.exit(1);
    });
}

report.failure = async function failure(call) {
    try {
        await call();
        return 'unexpectedly accepted';
    } catch (error) {
        if (!error.response) {
            throw error;
        }
        return {status: error.response.status, code: error.code, description: error.description};
    }
};

module.exports = report;
