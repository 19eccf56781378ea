// Package elastictest is a fake Elasticsearch 8 for tests, on 127.0.0.1
// (net/http/httptest): no Elasticsearch can be installed where the tests
// run. It enforces the contract of the two APIs the elastic output uses
// and answers the way Elasticsearch does (see
// https://www.elastic.co/guide/en/elasticsearch/reference/8.19/docs-bulk.html
// and …/indices-put-template.html):
//
//   - every answer carries X-Elastic-Product: Elasticsearch (the client checks it);
//   - POST /_bulk with Content-Type application/x-ndjson; the body must end
//     with "\n" (else 400 "The bulk request must be terminated by a newline");
//   - lines alternate: an action {"create":{"_index":…,"_id":…}} (the sink's
//     only action; any other, unknown action keys, a missing _index or _id, or
//     an invalid index name is a contract violation), then the document, a
//     JSON object;
//   - the answer is {"took","errors","items":[{"create":{"_index","_id",
//     "_version","result","status"} | {…,"status","error":{"type","reason"}}}]}
//     with the items in request order; a create of an _id the index has
//     already answers 409 version_conflict_engine_exception;
//   - PUT /_index_template/NAME[?create=true] with a JSON body: a valid name;
//     known top-level keys only; index_patterns present (valid patterns);
//     priority a non-negative integer; template.mappings an object whose
//     properties each have a known type and only that type's parameters.
//     With create=true an existing NAME answers 400 illegal_argument_exception
//     "index template [NAME] already exists"; a template whose patterns
//     overlap another's at the same priority answers 400; else it is stored
//     (replacing one of that name) and answers {"acknowledged":true};
//   - an index is created by the first action naming it, with the mappings
//     of the stored template of highest priority whose patterns match it;
//     a document whose mapped field does not fit its type (a string where
//     an integer is mapped, an object in a keyword, a date out of
//     date_nanos' range without ignore_malformed, …) answers 400
//     document_parsing_exception, as Elasticsearch would.
//
// Faults are injected by the Server's hooks (whole-request statuses,
// per-item 429/5xx, mapping errors, replies lost after storing, failed
// authentication, malformed replies, template refusals). Contract
// violations are recorded and fail the test (checked by the server's
// cleanup). A request whose body cannot be read (the client died
// mid-request) is dropped, as a server drops a broken connection: that is
// not a violation. Counts, Documents, Template, Indexes and TemplateLog
// show what it answered and stored; OpenConns tells when a killed client's
// requests are all answered.
//
// The elastic output's own tests (package elastic) and the node-level test
// with the real binary (appliance, TestElasticKillIntegration) use it.
package elastictest
