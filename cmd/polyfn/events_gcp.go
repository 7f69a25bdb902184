package main

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"time"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// pubsubPush is the body of a Pub/Sub push subscription's request.
type pubsubPush struct {
	Message      pubsubMessage `json:"message"`
	Subscription string        `json:"subscription"`
}

type pubsubMessage struct {
	Attributes  map[string]string `json:"attributes,omitempty"`
	Data        []byte            `json:"data"`
	MessageID   string            `json:"messageId"`
	PublishTime time.Time         `json:"publishTime"`
}

func gcpID() string { return strconv.FormatInt(time.Now().UnixNano()/1000%1e16, 10) }

func gcpPubSubPush(p eventParams) (any, error) {
	return pubsubPush{
		Message:      pubsubMessage{Attributes: map[string]string{"origin": "polyfn-events"}, Data: p.body, MessageID: gcpID(), PublishTime: p.now},
		Subscription: "projects/my-project/subscriptions/orders-push",
	}, nil
}

// storageEvent is a Cloud Storage background (legacy) event.
type storageEvent struct {
	Context storageContext `json:"context"`
	Data    storageObject  `json:"data"`
}

type storageContext struct {
	EventID   string          `json:"eventId"`
	Timestamp time.Time       `json:"timestamp"`
	EventType string          `json:"eventType"`
	Resource  storageResource `json:"resource"`
}

type storageResource struct {
	Service string `json:"service"`
	Name    string `json:"name"`
	Type    string `json:"type"`
}

type storageObject struct {
	Bucket      string `json:"bucket"`
	Name        string `json:"name"`
	Generation  string `json:"generation"`
	ContentType string `json:"contentType,omitempty"`
	Size        string `json:"size"`
	Etag        string `json:"etag"`
	TimeCreated string `json:"timeCreated"`
	Updated     string `json:"updated"`
}

func gcpStorage(p eventParams) (any, error) {
	types := map[string]string{
		"object_created": "google.storage.object.finalize",
		"object_deleted": "google.storage.object.delete",
		"object_updated": "google.storage.object.metadataUpdate",
	}
	typ, ok := types[p.kind]
	if !ok {
		return nil, fmt.Errorf("storage sends no %q events", p.kind)
	}
	ts := p.now.Format(time.RFC3339Nano)
	return storageEvent{
		Context: storageContext{EventID: gcpID(), Timestamp: p.now, EventType: typ, Resource: storageResource{
			Service: "storage.googleapis.com", Name: "projects/_/buckets/" + p.bucket + "/objects/" + p.key, Type: "storage#object"}},
		Data: storageObject{Bucket: p.bucket, Name: p.key, Generation: strconv.FormatInt(p.now.UnixMicro(), 10),
			ContentType: "image/jpeg", Size: "1024", Etag: "CLHi8Yz/lvsCEAE=", TimeCreated: ts, Updated: ts},
	}, nil
}

// gcpSchedulerPush is the push request of a Cloud Scheduler job's Pub/Sub
// message, its payload the --body.
func gcpSchedulerPush(p eventParams) (any, error) {
	return pubsubPush{
		Message:      pubsubMessage{Data: p.body, MessageID: gcpID(), PublishTime: p.now},
		Subscription: "projects/my-project/subscriptions/nightly-report-push",
	}, nil
}
