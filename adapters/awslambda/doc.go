// Package awslambda runs a polyfn App as an AWS Lambda function: a custom
// runtime (provided.al2023) driven by github.com/aws/aws-lambda-go.
//
// A Handler implements aws-lambda-go's smallest contract,
// lambda.Handler (Invoke(ctx, payload) (reply, error)), so it runs under the
// real runtime loop (Run) and in-process in tests and benchmarks alike.
//
// Invoke reads the payload's shape with one probe and then:
//
//   - HTTP shapes (API Gateway REST API and HTTP API, Lambda function URLs,
//     ALB target groups) become an *http.Request served by App.HTTPHandler;
//     the response goes back in the shape the request came in.
//   - Event shapes (S3, SQS, SNS, EventBridge, EventBridge Scheduler,
//     DynamoDB Streams) become one core.Event per record, handed to the
//     event functions that accept them through core.ProcessBatch. SQS and
//     DynamoDB batches answer with the failed records in batchItemFailures;
//     any other failed event fails the invocation, and Lambda retries it.
//
// Routing: an event goes to every event function whose trigger accepts its
// kind (and, for objects, its key) and whose variable names the event's
// source: an s3://, awssqs://, awssns:/// or dynamodb:// URL for the same
// bucket, queue, topic or table, or for timers the schedule named after the
// function. When no function names the source, the event goes to the one
// function of its kind whose variable names no AWS resource (unset, or a
// file:// or mem:// URL in tests). Anything else is an error naming the
// source: an event no function accepts never succeeds silently.
//
// Errors: byCode is the one table from core.Code to what Lambda does with
// a failed event. The raw payload stays reachable through RawEvent and As.
//
// docs/aws.md describes deployment, every mapping and the limitations.
package awslambda
