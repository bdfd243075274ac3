// Node 20 lacks Promise.withResolvers, which aws-local-stepfunctions 3.x uses.
import '../local/runner/polyfill';

// Tests run on Node 20 on purpose; the AWS SDK's Node 22 notice is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
