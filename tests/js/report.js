// How the official-client scripts end: what they gathered (`out`) printed
// as one JSON object, or the call that failed with the server's answer on
// stderr and exit code 1.
'use strict';

module.exports = function report(work, out) {
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
};
